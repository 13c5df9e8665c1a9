package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// lineWriter collects a running app's log and announces the "listening" URL.
type lineWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	urlOnce sync.Once
	url     chan string
}

var listeningURL = regexp.MustCompile(`msg=listening url=(\S+)`)
var simBase = regexp.MustCompile(`api base: (\S+)`)

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, re := range []*regexp.Regexp{listeningURL, simBase} {
		if m := re.FindSubmatch(w.buf.Bytes()); m != nil {
			u := string(m[1])
			w.urlOnce.Do(func() { w.url <- u })
		}
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// runningApp is one coze2app process, run in-process through Run.
type runningApp struct {
	URL    string
	log    *lineWriter
	cancel context.CancelFunc
	done   chan error
}

// mustStart runs coze2app with args and env and waits until it listens.
func mustStart(t *testing.T, args []string, env map[string]string) *runningApp {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &runningApp{log: &lineWriter{url: make(chan string, 1)}, cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- Run(ctx, args, func(k string) string { return env[k] }, a.log) }()
	select {
	case a.URL = <-a.log.url:
	case err := <-a.done:
		cancel()
		t.Fatalf("app exited before listening: %v\n%s", err, a.log)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("app did not listen within 30s:\n%s", a.log)
	}
	t.Cleanup(func() { a.stop(t) })
	return a
}

// stop cancels the app (SIGTERM) and waits for Run to return.
func (a *runningApp) stop(t *testing.T) error {
	t.Helper()
	a.cancel()
	select {
	case err, ok := <-a.done:
		if ok {
			close(a.done)
		}
		return err
	case <-time.After(40 * time.Second):
		t.Fatalf("app did not stop within 40s:\n%s", a.log)
		return nil
	}
}

// newBrowser is an http.Client with a cookie jar that does not follow redirects.
func newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// signIn walks /auth → simulator authorize → consent form → /callback.
func signIn(t *testing.T, c *http.Client, appURL, simUser string) {
	t.Helper()
	cb := mustConsent(t, c, mustRedirect(t, c, "GET", appURL+"/auth", nil), simUser)
	if home := mustRedirect(t, c, "GET", cb, nil); home != "/" {
		t.Fatalf("callback redirected to %q, want /", home)
	}
}

// mustConsent approves authorizeURL on the simulator's consent form as
// simUser and returns the callback URL.
func mustConsent(t *testing.T, c *http.Client, authorizeURL, simUser string) string {
	t.Helper()
	cb, err := cozesim.Consent(t.Context(), c, authorizeURL, simUser, "approve")
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

func mustRedirect(t *testing.T, c *http.Client, method, target string, form url.Values) string {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s %s: status %d, want a redirect:\n%s", method, target, res.StatusCode, b)
	}
	loc := res.Header.Get("Location")
	if strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") {
		// Absolute for the next hop; "/" alone is kept to check the final page.
		if u, err := url.Parse(target); err == nil && loc != "/" {
			loc = u.Scheme + "://" + u.Host + loc
		}
	}
	return loc
}

// postJSON sends a same-origin JSON request and decodes the answer.
func postJSON(t *testing.T, c *http.Client, target string, in, out any) int {
	t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", target, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

func getJSON(t *testing.T, c *http.Client, target string, out any) int {
	t.Helper()
	res, err := c.Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

type status struct {
	Authenticated bool `json:"authenticated"`
	Demo          bool `json:"demo"`
	User          *struct {
		ID, Name string
	} `json:"user"`
}

type chatAnswer struct {
	ConversationID string `json:"conversation_id"`
	ChatID         string `json:"chat_id"`
	Answer         string `json:"answer"`
}

// externalSim serves a simulator that outlives app restarts, as real Coze would.
func externalSim(t *testing.T, redirectURI string, o cozesim.Options) (*cozesim.Sim, *httptest.Server) {
	t.Helper()
	o.Apps = []cozesim.App{{Name: "test app", ClientID: "30000000000000000000000000000003.app.coze",
		ClientSecret: "test-client-secret", RedirectURIs: []string{redirectURI}}}
	sim := cozesim.New(o)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	return sim, srv
}

// realModeEnv configures the app against an external simulator on a fixed port.
func realModeEnv(simURL, addr, dbURL string) map[string]string {
	return map[string]string{
		"COZE_CLIENT_ID":        "30000000000000000000000000000003.app.coze",
		"COZE_CLIENT_SECRET":    "test-client-secret",
		"COZE_REDIRECT_URI":     "http://" + addr + "/callback",
		"COZE_API_BASE":         simURL,
		"COZE_WWW_BASE":         simURL,
		"COZE2APP_ADDR":         addr,
		"COZE2APP_DATABASE_URL": dbURL,
		"COZE2APP_SECRET_KEY":   "k1:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
}

// freeAddr reserves a loopback port so a restarted app can use the same one.
func freeAddr(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}
