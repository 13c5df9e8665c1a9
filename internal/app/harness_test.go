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
	"github.com/coze2app/coze2app/internal/store/storetest"
)

// lineWriter collects a log. With announce set, the first match of it (the
// URL a process or the sim command prints) is sent on url.
type lineWriter struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	announce *regexp.Regexp
	urlOnce  sync.Once
	url      chan string
}

// announcing is a lineWriter that waits for re's first group.
func announcing(re *regexp.Regexp) *lineWriter {
	return &lineWriter{announce: re, url: make(chan string, 1)}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.announce != nil {
		if m := w.announce.FindSubmatch(w.buf.Bytes()); m != nil {
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

// awaitURL waits until log announces its URL, failing if exited is closed
// first or nothing comes within d.
func awaitURL(t *testing.T, log *lineWriter, exited <-chan struct{}, d time.Duration) string {
	t.Helper()
	select {
	case u := <-log.url:
		return u
	case <-exited:
		t.Fatalf("exited before listening:\n%s", log)
	case <-time.After(d):
		t.Fatalf("not listening within %v:\n%s", d, log)
	}
	return ""
}

// runningApp is one coze2app serve command, run in-process through Start.
type runningApp struct {
	*Server
	log *lineWriter
}

// mustStartDemo starts coze2app in demo mode on SQLite, its simulator answering
// without pauses.
func mustStartDemo(t *testing.T) *runningApp {
	t.Helper()
	return mustStart(t, map[string]string{
		"COZE2APP_ADDR":            "127.0.0.1:0",
		"COZE2APP_DATABASE_URL":    "sqlite:" + t.TempDir() + "/coze2app.db",
		"COZE2APP_SIM_DELTA_DELAY": "0s",
	})
}

// mustStart starts coze2app serve with env; it stops when the test ends.
func mustStart(t *testing.T, env map[string]string) *runningApp {
	t.Helper()
	a := &runningApp{log: &lineWriter{}}
	s, err := Start(context.Background(), nil, func(k string) string { return env[k] }, a.log)
	if err != nil {
		t.Fatalf("app did not start: %v\n%s", err, a.log)
	}
	a.Server = s
	t.Cleanup(func() { a.stop(t) })
	return a
}

// stop shuts the app down as SIGTERM does and returns what Run would.
func (a *runningApp) stop(t *testing.T) error {
	t.Helper()
	go a.Close()
	select {
	case <-a.Done():
		return a.Wait()
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

// postSameOrigin sends a JSON POST as the page does.
func postSameOrigin(c *http.Client, target string, in any) (*http.Response, error) {
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", target, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.Do(req)
}

// postJSON sends a same-origin JSON request and decodes the answer.
func postJSON(t *testing.T, c *http.Client, target string, in, out any) int {
	t.Helper()
	res, err := postSameOrigin(c, target, in)
	return decodeAnswer(t, "POST "+target, res, err, out)
}

func getJSON(t *testing.T, c *http.Client, target string, out any) int {
	t.Helper()
	res, err := c.Get(target)
	return decodeAnswer(t, "GET "+target, res, err, out)
}

// decodeAnswer decodes a JSON answer into out (if not nil) and returns its
// status; a failed request fails the test.
func decodeAnswer(t *testing.T, what string, res *http.Response, err error, out any) int {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
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

// realMode serves an external simulator with options o and returns it with
// the environment of an app against it on a fixed free port, storing in dbURL.
func realMode(t *testing.T, dbURL string, o cozesim.Options) (*cozesim.Sim, *httptest.Server, map[string]string) {
	t.Helper()
	addr := freeAddr(t)
	sim, srv := externalSim(t, "http://"+addr+"/callback", o)
	return sim, srv, realModeEnv(srv.URL, addr, dbURL)
}

// onBothBackends runs test once on a fresh SQLite database and once on a
// fresh PostgreSQL schema.
func onBothBackends(t *testing.T, test func(t *testing.T, dbURL string)) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dbURL := storetest.SQLiteURL(t)
			if backend == "postgres" {
				dbURL = storetest.PostgresURL(t)
			}
			test(t, dbURL)
		})
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
