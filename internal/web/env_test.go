package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/metrics"
	"github.com/coze2app/coze2app/internal/store"
	"github.com/coze2app/coze2app/internal/testkit"
)

// The test world, wired like internal/app/serve.go: the real simulator, a
// real SQLite store, real seal, auth, chat and web, and the app on its own
// httptest server whose URL is the redirect URI's origin.

const (
	testClientID = "81734206536653066151822452691234.app.coze"
	testSecret   = "sim_secret_0123456789abcdef"
	// testPassphrase derives the sealer's keys (case 31 opens stored tokens with it).
	testPassphrase = "a test passphrase that is long enough"
)

type envOpts struct {
	demo      bool   // sim mounted at /_sim on the app (Deps.Demo), like demo mode
	publicURL string // Deps.PublicURL; default the app server's URL
	maxUpload int64  // Deps.MaxUploadBytes
	dbURL     string // database; default a fresh SQLite file
	sim       func(*cozesim.Options)
	chat      func(*chat.Options)
	coze      func(*coze.Options)
	auth      func(*auth.Options)
	web       func(*Deps)
	quiet     bool // discard logs (load probes)
}

type testEnv struct {
	t      *testing.T
	url    string // the app's origin
	srv    *httptest.Server
	world  *testkit.World
	sim    *cozesim.Sim
	simURL string // where the server reaches the sim (API base)
	st     *store.Store
	auth   *auth.Auth
	chat   *chat.Service
	rec    *recorder
	logs   *syncBuffer
	met    *metrics.Metrics
	deps   Deps

	srvState *Server
}

// server is the handlers' shared state, for tests that look inside.
func (e *testEnv) server() *Server { return e.srvState }

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestEnv(t *testing.T, o envOpts) *testEnv {
	t.Helper()
	e := &testEnv{t: t, rec: &recorder{}, logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.quiet {
		log = slog.New(slog.DiscardHandler)
	}

	sh := &testkit.SwapHandler{}
	e.srv = httptest.NewUnstartedServer(sh)
	e.url = "http://" + e.srv.Listener.Addr().String()
	e.rec.host = e.srv.Listener.Addr().String()
	public := o.publicURL
	if public == "" {
		public = e.url
	}

	ko := testkit.Options{
		RedirectURIs: []string{e.url + "/callback"},
		DBURL:        o.dbURL,
		Passphrase:   testPassphrase,
		Sim:          o.sim,
		Coze: func(co *coze.Options) {
			co.Retries = -1
			if o.coze != nil {
				o.coze(co)
			}
		},
	}
	if o.demo {
		ko.SimURL = e.url + "/_sim"
		ko.Sim = func(so *cozesim.Options) {
			so.PathPrefix = "/_sim"
			if o.sim != nil {
				o.sim(so)
			}
		}
	}
	e.world = testkit.New(t, ko)
	e.sim, e.simURL, e.st = e.world.Sim, e.world.SimURL, e.world.Store
	st, sealer, cz := e.world.Store, e.world.Sealer, e.world.Coze
	ao := auth.Options{
		Coze: cz, Store: st, Sealer: sealer, Log: log.With("component", "auth"),
		Region: "cn", PKCE: auth.PKCEOn, SecureCookies: strings.HasPrefix(public, "https://"),
	}
	if o.auth != nil {
		o.auth(&ao)
	}
	a, err := auth.New(ao)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	e.auth = a
	co := chat.Options{Coze: cz, Tokens: a, Store: st, Log: log.With("component", "chat")}
	if o.chat != nil {
		o.chat(&co)
	}
	e.chat = chat.New(co)
	var simHandler http.Handler
	if o.demo {
		simHandler = e.sim
	}
	e.met = metrics.New()
	deps := Deps{
		Auth: a, Chat: e.chat, Store: st, Coze: cz, Metrics: e.met, Log: log,
		PublicURL: public, Demo: o.demo, Sim: simHandler, MaxUploadBytes: o.maxUpload,
	}
	// Tests send many chats quickly; case 73 sets its own rate.
	deps.ChatsPerMinute = 100_000
	if o.web != nil {
		o.web(&deps)
	}
	e.deps = deps
	srv, h, err := newServer(deps)
	e.srvState = srv
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	sh.Set(h)
	e.srv.Start()
	t.Cleanup(func() {
		e.srv.CloseClientConnections()
		e.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.chat.Shutdown(ctx)
		a.Wait()
	})
	return e
}

// recorder keeps every response (status line, headers, body) any test client
// saw, for the secret-leak scan of catalog case 29.
type recorder struct {
	host string // only the app's responses are kept
	mu   sync.Mutex
	buf  bytes.Buffer
	n    int
}

func (r *recorder) add(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf.Write(p)
	r.n++
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

type recordingTransport struct {
	rec  *recorder
	next http.RoundTripper
}

func (rt recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(req)
	if err != nil || req.URL.Host != rt.rec.host {
		return resp, err
	}
	// The request URL is not recorded: a callback URL carries the code,
	// which the browser got from Coze, not from us.
	var hb bytes.Buffer
	hb.WriteString(resp.Proto + " " + resp.Status + "\n")
	_ = resp.Header.Write(&hb)
	rt.rec.add(hb.Bytes())
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, writerFunc(func(p []byte) (int, error) { rt.rec.add(p); return len(p), nil })), resp.Body}
	return resp, nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// newClient is a browser: a cookie jar, no redirect following, every
// response recorded.
func (e *testEnv) newClient() *http.Client {
	e.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Jar:           jar,
		Transport:     recordingTransport{rec: e.rec, next: tr},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

// resp is a fully read response.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) errorCode() string {
	var v struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &v)
	return v.Error.Code
}

// errorBody returns the "error" object of a JSON error answer.
func (r resp) errorBody() map[string]string {
	var v struct {
		Error map[string]string `json:"error"`
	}
	_ = json.Unmarshal(r.body, &v)
	return v.Error
}

// req describes one request; hdr holds extra headers ("" values delete).
type req struct {
	method, path string
	ctype        string
	body         string
	hdr          map[string]string
	host         string
}

// send performs r and reads the whole answer.
func (e *testEnv) send(c *http.Client, r req) resp {
	e.t.Helper()
	target := r.path
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		target = e.url + r.path
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequestWithContext(e.t.Context(), r.method, target, body)
	if err != nil {
		e.t.Fatalf("new request %s %s: %v", r.method, r.path, err)
	}
	if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	}
	for k, v := range r.hdr {
		if v == "" {
			hr.Header.Del(k)
			continue
		}
		hr.Header.Set(k, v)
	}
	if r.host != "" {
		hr.Host = r.host
	}
	res, err := c.Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("read %s %s: %v", r.method, r.path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// get is a same-origin GET.
func (e *testEnv) get(c *http.Client, path string) resp {
	e.t.Helper()
	return e.send(c, req{method: "GET", path: path, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
}

// api is a same-origin JSON call as the page makes it.
func (e *testEnv) api(c *http.Client, method, path string, body any) resp {
	e.t.Helper()
	r := req{method: method, path: path, hdr: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.url}}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r.body, r.ctype = string(b), "application/json"
	}
	return e.send(c, r)
}

// decode unmarshals a JSON answer or fails the test.
func decode[T any](t testing.TB, r resp) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %q: %v", truncate(string(r.body), 300), err)
	}
	return v
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// mustStatus fails when r's status is not want.
func mustStatus(t testing.TB, what string, r resp, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status = %d, want %d; body %s", what, r.status, want, truncate(string(r.body), 400))
	}
}

// signIn walks the real sign-in through the simulator's consent page and
// returns a browser holding the session cookie.
func signIn(t *testing.T, e *testEnv, simUserID string) *http.Client {
	t.Helper()
	c := e.newClient()
	signInWith(t, e, c, simUserID)
	return c
}

func signInWith(t *testing.T, e *testEnv, c *http.Client, simUserID string) {
	t.Helper()
	e.world.SignIn(t, c, e.url, simUserID)
	st := decode[statusJSON](t, e.get(c, "/api/auth/status"))
	if !st.Authenticated || st.User == nil || st.User.ID != simUserID {
		t.Fatalf("after sign-in, status = %+v, want user %s", st, simUserID)
	}
}

// signInAttempt walks the sign-in like signInWith and returns the callback's
// answer instead of requiring success.
func signInAttempt(t *testing.T, e *testEnv, c *http.Client, simUserID string) resp {
	t.Helper()
	r := e.world.SignInAttempt(t, c, e.url, simUserID)
	return resp{status: r.Status, header: r.Header, body: r.Body}
}

func mustResolve(t testing.TB, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

type statusJSON struct {
	Authenticated bool `json:"authenticated"`
	User          *struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		AvatarURL string `json:"avatar_url"`
	} `json:"user"`
	Demo bool `json:"demo"`
}

// simCallTotal is the number of API calls the simulator has seen (OAuth
// pages and the token endpoint included).
func simCallTotal(s *cozesim.Sim) int {
	return len(s.Requests())
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// alanSignedIn is the most common start of a test: a fresh app with Alan signed
// in through the real sign-in flow.
func alanSignedIn(t *testing.T) (*testEnv, *http.Client) {
	t.Helper()
	e := newTestEnv(t, envOpts{})
	return e, signIn(t, e, cozesim.UserAlan)
}
