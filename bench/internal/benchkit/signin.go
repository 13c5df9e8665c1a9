package benchkit

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// NewTransport is a keep-alive HTTP/1.1 transport for up to conns parallel
// connections to one host.
func NewTransport(conns int) *http.Transport {
	return &http.Transport{
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// NewBrowser is an http.Client with a cookie jar that does not follow
// redirects (the sign-in walks them one by one).
func NewBrowser(tr http.RoundTripper) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Transport:     tr,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var (
	reAuthorizeKey = regexp.MustCompile(`name="authorize_key"\s+value="([^"]*)"`)
	reFormAction   = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	reUserOption   = regexp.MustCompile(`<option value="([^"]*)"`)
)

// SignIn walks the app's sign-in through the simulator's consent page:
// GET /auth → simulator authorize → consent page → POST approve as the
// userIndex-th demo user → the app's /callback → session cookie in hc's jar.
func SignIn(ctx context.Context, hc *http.Client, appBase string, userIndex int) error {
	loc, err := expectRedirect(ctx, hc, http.MethodGet, appBase+"/auth", nil)
	if err != nil {
		return fmt.Errorf("begin sign-in: %w", err)
	}
	// Follow the simulator's redirects until the consent page answers 200.
	var page string
	for range 5 {
		resp, body, err := do(ctx, hc, http.MethodGet, loc, nil)
		if err != nil {
			return fmt.Errorf("open consent: %w", err)
		}
		if resp.StatusCode/100 == 3 {
			loc, err = resolve(loc, resp.Header.Get("Location"))
			if err != nil {
				return err
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("consent page %s: status %d: %.200s", loc, resp.StatusCode, body)
		}
		page = body
		break
	}
	key := reAuthorizeKey.FindStringSubmatch(page)
	action := reFormAction.FindStringSubmatch(page)
	users := reUserOption.FindAllStringSubmatch(page, -1)
	if key == nil || action == nil || len(users) == 0 {
		return fmt.Errorf("consent page has no form: %.300s", page)
	}
	formURL, err := resolve(loc, html.UnescapeString(action[1]))
	if err != nil {
		return err
	}
	form := url.Values{
		"authorize_key": {html.UnescapeString(key[1])},
		"user_id":       {html.UnescapeString(users[userIndex%len(users)][1])},
		"decision":      {"approve"},
	}
	callback, err := expectRedirect(ctx, hc, http.MethodPost, formURL, form)
	if err != nil {
		return fmt.Errorf("approve consent: %w", err)
	}
	resp, body, err := do(ctx, hc, http.MethodGet, callback, nil)
	if err != nil {
		return fmt.Errorf("callback: %w", err)
	}
	if resp.StatusCode/100 != 3 {
		return fmt.Errorf("callback: status %d: %.300s", resp.StatusCode, body)
	}
	// Check the session works.
	resp, body, err = do(ctx, hc, http.MethodGet, appBase+"/api/auth/status", nil)
	if err != nil {
		return fmt.Errorf("auth status: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"authenticated":true`) {
		return fmt.Errorf("not signed in after callback: status %d: %.300s", resp.StatusCode, body)
	}
	return nil
}

func expectRedirect(ctx context.Context, hc *http.Client, method, u string, form url.Values) (string, error) {
	resp, body, err := do(ctx, hc, method, u, form)
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 3 {
		return "", fmt.Errorf("%s %s: status %d, want a redirect: %.300s", method, u, resp.StatusCode, body)
	}
	return resolve(u, resp.Header.Get("Location"))
}

func do(ctx context.Context, hc *http.Client, method, u string, form url.Values) (*http.Response, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b), err
}

func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("bad Location %q: %w", ref, err)
	}
	return b.ResolveReference(r).String(), nil
}

// GetJSONBody does a GET with hc and returns status and body.
func GetJSONBody(ctx context.Context, hc *http.Client, u string) (int, string, error) {
	resp, body, err := do(ctx, hc, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, body, nil
}
