package cozesim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

type env struct {
	sim   *Sim
	srv   *httptest.Server
	clock *FakeClock
	hc    *http.Client // no redirects, no cookies
}

// mustEnv starts a Sim behind an httptest server with a fake clock.
func mustEnv(tb testing.TB, o Options) *env {
	tb.Helper()
	clock := NewFakeClock(t0)
	if o.Clock == nil {
		o.Clock = clock
	}
	s := New(o)
	srv := httptest.NewServer(s)
	tb.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &env{sim: s, srv: srv, clock: clock, hc: hc}
}

// alanEnv is mustEnv with an access token issued to Alan, the usual test's caller.
func alanEnv(tb testing.TB, o Options) (*env, string) {
	tb.Helper()
	e := mustEnv(tb, o)
	tok, _ := e.sim.IssueToken(UserAlan)
	return e, tok
}

// base is the API/WWW base including the prefix.
func (e *env) base() string { return e.srv.URL + e.sim.o.PathPrefix }

// do sends a request and returns status, headers and body.
func (e *env) do(tb testing.TB, method, path, token string, body any) (int, http.Header, []byte) {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(tb.Context(), method, e.base()+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read %s %s: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// api calls an OpenAPI endpoint and decodes the envelope.
func (e *env) api(tb testing.TB, method, path, token string, body any) map[string]any {
	tb.Helper()
	_, h, b := e.do(tb, method, path, token, body)
	if len(h.Get("X-Tt-Logid")) != 34 {
		tb.Errorf("%s %s: X-Tt-Logid = %q, want 34 chars", method, path, h.Get("X-Tt-Logid"))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("%s %s: body %q: %v", method, path, b, err)
	}
	return m
}

// mustOK calls api and fails unless code == 0.
func (e *env) mustOK(tb testing.TB, method, path, token string, body any) map[string]any {
	tb.Helper()
	m := e.api(tb, method, path, token, body)
	if code(m) != 0 {
		tb.Fatalf("%s %s: code %v msg %v", method, path, m["code"], m["msg"])
	}
	return m
}

func code(m map[string]any) int {
	f, _ := m["code"].(float64)
	return int(f)
}

func dataMap(m map[string]any) map[string]any {
	d, _ := m["data"].(map[string]any)
	return d
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

type sseEvent struct {
	ID, Name string
	Data     string
}

// readSSE parses a whole stream body, checking the framing strictly.
func readSSE(tb testing.TB, body []byte, workflow bool) []sseEvent {
	tb.Helper()
	return readSSEMode(tb, body, workflow, false)
}

// readSSEMode also parses the chatflow framing ("event: x", spaced).
func readSSEMode(tb testing.TB, body []byte, workflow, spaced bool) []sseEvent {
	tb.Helper()
	if len(body) > 0 && !bytes.HasSuffix(body, []byte("\n\n")) {
		tb.Errorf("stream does not end with a blank line: %q", tail(body))
	}
	var out []sseEvent
	for _, block := range strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n") {
		if block == "" {
			continue
		}
		lines := strings.Split(block, "\n")
		var ev sseEvent
		if workflow {
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "id: ") || !strings.HasPrefix(lines[1], "event: ") || !strings.HasPrefix(lines[2], "data: ") {
				tb.Fatalf("bad workflow event %q", block)
			}
			ev = sseEvent{ID: lines[0][4:], Name: lines[1][7:], Data: lines[2][6:]}
		} else if spaced {
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: ") {
				tb.Fatalf("bad chatflow event %q", block)
			}
			ev = sseEvent{Name: lines[0][7:], Data: lines[1][6:]}
		} else {
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "event:") || !strings.HasPrefix(lines[1], "data:") ||
				strings.HasPrefix(lines[0], "event: ") || strings.HasPrefix(lines[1], "data: ") {
				tb.Fatalf("bad chat event %q", block)
			}
			ev = sseEvent{Name: lines[0][6:], Data: lines[1][5:]}
		}
		if !json.Valid([]byte(ev.Data)) {
			tb.Errorf("event %s: data is not one JSON value: %q", ev.Name, ev.Data)
		}
		out = append(out, ev)
	}
	return out
}

func tail(b []byte) []byte {
	if len(b) > 80 {
		return b[len(b)-80:]
	}
	return b
}

func names(evs []sseEvent) []string {
	var n []string
	for _, e := range evs {
		n = append(n, e.Name)
	}
	return n
}

// stream posts body to path and returns the raw SSE body.
func (e *env) stream(tb testing.TB, path, token string, body any) (http.Header, []byte) {
	tb.Helper()
	_, h, b := e.do(tb, http.MethodPost, path, token, body)
	return h, b
}

// mustLogin runs the full OAuth dance for app as user and returns the tokens.
func (e *env) mustLogin(tb testing.TB, app App, userID, verifier string) (access, refresh string) {
	tb.Helper()
	code := e.mustCode(tb, app, userID, verifier)
	tok := e.exchange(tb, app, code, app.RedirectURIs[0], verifier)
	if tok.status != http.StatusOK {
		tb.Fatalf("exchange: %d %s", tok.status, tok.raw)
	}
	return tok.Access, tok.Refresh
}

// mustCode authorizes and approves on the consent form; it returns the code.
func (e *env) mustCode(tb testing.TB, app App, userID, verifier string) string {
	tb.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {app.RedirectURIs[0]}, "state": {"st-1"}}
	if verifier != "" {
		q.Set("code_challenge", s256(verifier))
		q.Set("code_challenge_method", "S256")
	}
	cb, err := Consent(tb.Context(), e.hc, e.base()+"/api/permission/oauth2/authorize?"+q.Encode(), userID, "approve")
	if err != nil {
		tb.Fatal(err)
	}
	u, err := url.Parse(cb)
	if err != nil {
		tb.Fatal(err)
	}
	if got := u.Query().Get("state"); got != "st-1" {
		tb.Fatalf("state = %q, want st-1", got)
	}
	return u.Query().Get("code")
}

// mustRedirect sends a bodiless request, expects a 302 and returns its Location.
func (e *env) mustRedirect(tb testing.TB, method, path string) string {
	tb.Helper()
	req, _ := http.NewRequestWithContext(tb.Context(), method, e.base()+path, nil)
	resp, err := e.hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		tb.Fatalf("%s %s: status %d, want 302: %s", method, path, resp.StatusCode, b)
	}
	return resp.Header.Get("Location")
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

type tokenResult struct {
	status          int
	raw             []byte
	body            map[string]any
	Access, Refresh string
	ExpiresIn       int64
}

// tokenCall posts a token request with an optional Bearer secret.
func (e *env) tokenCall(tb testing.TB, secretHeader *string, body map[string]any) tokenResult {
	tb.Helper()
	j, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(tb.Context(), http.MethodPost, e.base()+"/api/permission/oauth2/token", bytes.NewReader(j))
	req.Header.Set("Content-Type", "application/json")
	if secretHeader != nil {
		req.Header.Set("Authorization", "Bearer "+*secretHeader)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := tokenResult{status: resp.StatusCode, raw: b}
	_ = json.Unmarshal(b, &r.body)
	r.Access, _ = r.body["access_token"].(string)
	r.Refresh, _ = r.body["refresh_token"].(string)
	if f, isNum := r.body["expires_in"].(float64); isNum {
		r.ExpiresIn = int64(f)
	}
	return r
}

func (e *env) exchange(tb testing.TB, app App, code, redirect, verifier string) tokenResult {
	tb.Helper()
	body := map[string]any{"grant_type": "authorization_code", "client_id": app.ClientID, "redirect_uri": redirect, "code": code}
	if verifier != "" {
		body["code_verifier"] = verifier
	}
	var hdr *string
	if app.ClientSecret != "" {
		hdr = &app.ClientSecret
	}
	return e.tokenCall(tb, hdr, body)
}

func (e *env) refreshCall(tb testing.TB, app App, rt string) tokenResult {
	tb.Helper()
	var hdr *string
	if app.ClientSecret != "" {
		hdr = &app.ClientSecret
	}
	return e.tokenCall(tb, hdr, map[string]any{"grant_type": "refresh_token", "client_id": app.ClientID, "refresh_token": rt})
}

// scanLines is a helper for reading a live stream line by line.
func scanLines(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	return sc
}
