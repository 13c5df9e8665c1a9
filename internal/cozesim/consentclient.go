package cozesim

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// The consent form's action and hidden key, as consentTmpl writes them.
var (
	consentActionRe = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	consentKeyRe    = regexp.MustCompile(`name="authorize_key" value="([^"]+)"`)
)

// Consent signs in at the simulator the way a person would: it follows
// authorizeURL (the Coze authorize URL an app redirects to) to the consent
// page, reads the form there and submits it as userID with decision
// ("approve" or "deny"). It returns the callback URL the simulator redirects
// to, without visiting it. Tests in every package sign in through this, so
// the page's markup is read in one place, next to the template that writes it.
//
// c keeps its jar, transport and timeout; redirects are never followed.
func Consent(ctx context.Context, c *http.Client, authorizeURL, userID, decision string) (callback string, err error) {
	hc := http.Client{}
	if c != nil {
		hc = *c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	send := func(method, target string, form url.Values) (*http.Response, string, error) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, target, body)
		if err != nil {
			return nil, "", err
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := hc.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res, string(b), err
	}
	next := func(what string, res *http.Response, page string) (string, error) {
		loc, err := res.Location()
		if res.StatusCode != http.StatusFound || err != nil {
			return "", fmt.Errorf("cozesim consent: %s answered %d, want 302: %s", what, res.StatusCode, clip(page))
		}
		return loc.String(), nil
	}

	res, page, err := send(http.MethodGet, authorizeURL, nil)
	if err != nil {
		return "", fmt.Errorf("cozesim consent: authorize: %w", err)
	}
	consentURL, err := next("authorize", res, page)
	if err != nil {
		return "", err
	}
	res, page, err = send(http.MethodGet, consentURL, nil)
	if err != nil {
		return "", fmt.Errorf("cozesim consent: consent page: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("cozesim consent: consent page answered %d: %s", res.StatusCode, clip(page))
	}
	action, key := consentActionRe.FindStringSubmatch(page), consentKeyRe.FindStringSubmatch(page)
	if action == nil || key == nil {
		return "", fmt.Errorf("cozesim consent: no consent form at %s: %s", consentURL, clip(page))
	}
	target, err := res.Request.URL.Parse(html.UnescapeString(action[1]))
	if err != nil {
		return "", fmt.Errorf("cozesim consent: form action: %w", err)
	}
	form := url.Values{"authorize_key": {html.UnescapeString(key[1])}, "user_id": {userID}, "decision": {decision}}
	res, page, err = send(http.MethodPost, target.String(), form)
	if err != nil {
		return "", fmt.Errorf("cozesim consent: submit: %w", err)
	}
	return next("the consent form", res, page)
}

// clip keeps error messages readable when a whole page comes back.
func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
