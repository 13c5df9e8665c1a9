package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // per-test PostgreSQL schemas

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/seal"
	"github.com/coze2app/coze2app/internal/store"
)

// The test world: the real simulator behind one httptest server, one or more
// app instances (each its own store.Open, Auth and httptest server) around a
// tiny mux, and browsers with cookie jars that do not follow redirects.

const (
	testClientID = "81734206536653066151822452691234.app.coze"
	testSecret   = "sim_secret_0123456789abcdef"
)

var backends = []string{"sqlite", "postgres"}

type envOpts struct {
	backend   string // "sqlite" (default) | "postgres"
	instances int    // default 1
	tls       bool   // app served over https with SecureCookies
	public    bool   // PKCE public client: no client secret
	noPKCE    bool   // Options.PKCE = false
	cozeTO    time.Duration
	sim       func(*cozesim.Options)
	auth      func(*Options)
}

type testEnv struct {
	t      *testing.T
	o      envOpts
	clock  *cozesim.FakeClock
	sim    *cozesim.Sim
	simSrv *httptest.Server
	dbURL  string
	sealer *seal.Sealer
	logs   *logRecorder
	inst   []*instance
}

type instance struct {
	env *testEnv
	url string
	srv *httptest.Server
	h   *swapHandler
	st  *store.Store
	a   *Auth
	cz  *coze.Client
}

// swapHandler lets an instance be rebuilt (restart) behind the same URL.
type swapHandler struct {
	mu sync.RWMutex
	h  http.Handler
}

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	h := s.h
	s.mu.RUnlock()
	h.ServeHTTP(w, r)
}

func newEnv(t *testing.T, o envOpts) *testEnv {
	t.Helper()
	if o.backend == "" {
		o.backend = "sqlite"
	}
	if o.instances == 0 {
		o.instances = 1
	}
	e := &testEnv{
		t:     t,
		o:     o,
		clock: cozesim.NewFakeClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)),
		logs:  &logRecorder{},
	}
	switch o.backend {
	case "sqlite":
		e.dbURL = "sqlite:" + filepath.Join(t.TempDir(), "auth.db")
	case "postgres":
		e.dbURL = mustPGSchema(t)
	}
	e.sealer = mustSealer(t, "k1")

	var redirects []string
	for range o.instances {
		h := &swapHandler{h: http.NotFoundHandler()}
		srv := httptest.NewUnstartedServer(h)
		scheme := "http"
		if o.tls {
			scheme = "https"
		}
		in := &instance{env: e, srv: srv, h: h, url: scheme + "://" + srv.Listener.Addr().String()}
		e.inst = append(e.inst, in)
		redirects = append(redirects, in.url+"/callback")
	}
	secret := testSecret
	if o.public {
		secret = ""
	}
	so := cozesim.Options{
		Clock: e.clock,
		Apps:  []cozesim.App{{Name: "auth test", ClientID: testClientID, ClientSecret: secret, RedirectURIs: redirects}},
	}
	if o.sim != nil {
		o.sim(&so)
	}
	e.sim = cozesim.New(so)
	e.simSrv = httptest.NewServer(e.sim)
	t.Cleanup(func() {
		e.simSrv.CloseClientConnections()
		e.simSrv.Close()
		e.sim.Close()
	})
	for _, in := range e.inst {
		in.start()
		if o.tls {
			in.srv.StartTLS()
		} else {
			in.srv.Start()
		}
		t.Cleanup(func() {
			in.srv.CloseClientConnections()
			in.srv.Close()
			in.stop()
		})
	}
	return e
}

// start opens the store and builds Auth and the handler (also used to
// simulate a restart after stop).
func (in *instance) start() {
	e, t := in.env, in.env.t
	t.Helper()
	st, err := store.Open(t.Context(), e.dbURL)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	secret := coze.ClientSecret(testSecret)
	if e.o.public {
		secret = ""
	}
	// Every instance is configured with the same public redirect URI, as
	// behind a load balancer (catalog case 35).
	cz := coze.New(coze.Options{
		APIBase:      e.simSrv.URL,
		WWWBase:      e.simSrv.URL,
		ClientID:     testClientID,
		ClientSecret: secret,
		RedirectURI:  e.inst[0].url + "/callback",
		Timeout:      e.o.cozeTO,
	})
	ao := Options{
		Coze:          cz,
		Store:         st,
		Sealer:        e.sealer,
		Log:           slog.New(e.logs),
		Now:           e.clock.Now,
		Region:        "cn",
		PKCE:          !e.o.noPKCE,
		SecureCookies: e.o.tls,
	}
	if e.o.auth != nil {
		e.o.auth(&ao)
	}
	a, err := New(ao)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	in.st, in.a, in.cz = st, a, cz
	in.h.mu.Lock()
	in.h.h = testMux(a, cz)
	in.h.mu.Unlock()
}

func (in *instance) stop() {
	if in.a != nil {
		in.a.Wait()
	}
	if in.st != nil {
		_ = in.st.Close()
		in.st = nil
	}
}

// restart closes the store and builds a new one and a new Auth (catalog J).
func (in *instance) restart() {
	in.stop()
	in.start()
}

// errCode names err as the web layer would.
func errCode(err error) (int, string) {
	switch {
	case errors.Is(err, ErrStateExpired):
		return 400, "state_expired"
	case errors.Is(err, ErrStateInvalid):
		return 400, "state_invalid"
	case errors.Is(err, ErrConsentDenied):
		return 400, "consent_denied"
	case errors.Is(err, ErrExchangeFailed):
		return 400, "exchange_failed"
	case errors.Is(err, ErrBadWorkspace):
		return 400, "bad_request"
	case errors.Is(err, ErrReauthRequired):
		return 401, "reauth_required"
	case errors.Is(err, ErrUnauthenticated):
		return 401, "unauthenticated"
	case errors.Is(err, ErrRefreshUnavailable):
		return 503, "refresh_unavailable"
	}
	return 500, "internal_error"
}

func writeErr(w http.ResponseWriter, err error) {
	status, code := errCode(err)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, code)
}

// testMux is the smallest web layer: the demo's routes, wrapped in Middleware.
func testMux(a *Auth, cz *coze.Client) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		u, err := a.BeginSignIn(r.Context(), w, r, q.Get("return_to"), q.Get("workspace_id"))
		if err != nil {
			writeErr(w, err)
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		rt, err := a.FinishSignIn(r.Context(), w, r)
		if err != nil {
			writeErr(w, err)
			return
		}
		http.Redirect(w, r, rt, http.StatusFound)
	})
	mux.HandleFunc("GET /api/auth/status", func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFrom(r.Context())
		body := map[string]any{"authenticated": ok}
		if ok {
			body["user"] = map[string]any{"id": u.ID, "coze_id": u.CozeUserID, "name": u.Name}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("POST /api/auth/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := a.SignOut(r.Context(), w, r); err != nil {
			writeErr(w, err)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /api/ping", func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFrom(r.Context())
		if !ok {
			writeErr(w, ErrUnauthenticated)
			return
		}
		var me coze.User
		err := a.Do(r.Context(), u.ID, func(ctx context.Context, tok coze.AccessToken) error {
			var err error
			me, err = cz.Me(ctx, tok)
			return err
		})
		if err != nil {
			if errors.Is(err, ErrReauthRequired) {
				a.clearCookie(w, a.SessionCookieName())
			}
			writeErr(w, err)
			return
		}
		io.WriteString(w, me.UserID)
	})
	return a.Middleware(mux)
}

// browser is a cookie jar plus a client that does not follow redirects.
type browser struct {
	t   *testing.T
	c   *http.Client
	env *testEnv
}

type resp struct {
	status int
	header http.Header
	body   string
	loc    string
}

func (e *testEnv) newBrowser() *browser {
	e.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	var tr http.RoundTripper = http.DefaultTransport
	if e.o.tls {
		tr = e.inst[0].srv.Client().Transport
	}
	return &browser{t: e.t, env: e, c: &http.Client{
		Jar:       jar,
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

func (b *browser) do(req *http.Request) resp {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: string(body), loc: res.Header.Get("Location")}
}

func (b *browser) get(u string) resp {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) resp {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// begin calls /auth and returns the Coze authorize URL.
func (b *browser) begin(in *instance, query string) string {
	b.t.Helper()
	r := b.get(in.url + "/auth?" + query)
	if r.status != http.StatusFound || !strings.HasPrefix(r.loc, b.env.simSrv.URL+"/") {
		b.t.Fatalf("/auth = %d %q, want 302 to the simulator", r.status, r.loc)
	}
	return r.loc
}

// consent walks the simulator's consent page and returns the callback URL.
func (b *browser) consent(authorizeURL, userID, decision string) string {
	b.t.Helper()
	r := b.get(authorizeURL)
	if r.status != http.StatusFound {
		b.t.Fatalf("authorize = %d %s", r.status, r.body)
	}
	cu, err := url.Parse(r.loc)
	if err != nil {
		b.t.Fatal(err)
	}
	key := cu.Query().Get("authorize_key")
	r = b.post(b.env.simSrv.URL+"/oauth/consent", url.Values{
		"authorize_key": {key}, "user_id": {userID}, "decision": {decision},
	})
	if r.status != http.StatusFound {
		b.t.Fatalf("consent = %d %s", r.status, r.body)
	}
	return r.loc
}

// signIn runs the whole flow for Coze user userID and checks it ends in a
// redirect to returnTo (or "/").
func (b *browser) signIn(in *instance, userID string) resp {
	b.t.Helper()
	r := b.get(b.consent(b.begin(in, ""), userID, "approve"))
	if r.status != http.StatusFound || r.loc != "/" {
		b.t.Fatalf("callback = %d %q %q, want 302 /", r.status, r.loc, r.body)
	}
	return r
}

func (b *browser) ping(in *instance) resp {
	b.t.Helper()
	return b.get(in.url + "/api/ping")
}

type status struct {
	Authenticated bool `json:"authenticated"`
	User          struct {
		ID     int64  `json:"id"`
		CozeID string `json:"coze_id"`
	} `json:"user"`
}

func (b *browser) status(in *instance) status {
	b.t.Helper()
	r := b.get(in.url + "/api/auth/status")
	var s status
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		b.t.Fatalf("status body %q: %v", r.body, err)
	}
	return s
}

// cookie returns the value of the jar's cookie called name for in.
func (b *browser) cookie(in *instance, name string) string {
	u, _ := url.Parse(in.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (e *testEnv) users() []cozesim.User { return e.sim.Users() }

func (e *testEnv) refreshCalls() int { return e.sim.Calls("token:refresh_token") }
func (e *testEnv) codeCalls() int    { return e.sim.Calls("token:authorization_code") }

const tokenEndpoint = "POST /api/permission/oauth2/token"

// mustSealer returns a sealer with one random key named id.
func mustSealer(tb testing.TB, ids ...string) *seal.Sealer {
	tb.Helper()
	var keys []seal.Key
	for _, id := range ids {
		k := make([]byte, seal.KeySize)
		rand.Read(k)
		keys = append(keys, seal.Key{ID: id, Secret: k})
	}
	s, err := seal.New(keys...)
	if err != nil {
		tb.Fatalf("seal.New: %v", err)
	}
	return s
}

// mustPGSchema returns a URL for a fresh schema of the test database.
func mustPGSchema(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("COZE2APP_TEST_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL required under CI=true: %v", err)
		}
		tb.Skipf("!!! SKIPPING PostgreSQL test: no database at COZE2APP_TEST_DATABASE_URL (%v) !!!", err)
	}
	schema := "auth_" + strings.ToLower(rand.Text())
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// logRecorder is a slog.Handler that keeps every record, at every level,
// with every attribute resolved (LogValuer included), as one JSON line.
type logRecorder struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	attrs []slog.Attr
	group string
	root  *logRecorder
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(ctx context.Context, r slog.Record) error {
	root := l
	if l.root != nil {
		root = l.root
	}
	root.mu.Lock()
	defer root.mu.Unlock()
	var h slog.Handler = slog.NewJSONHandler(&root.buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	if len(l.attrs) > 0 {
		h = h.WithAttrs(l.attrs)
	}
	if l.group != "" {
		h = h.WithGroup(l.group)
	}
	return h.Handle(ctx, r)
}

func (l *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	root := l
	if l.root != nil {
		root = l.root
	}
	return &logRecorder{root: root, attrs: append(append([]slog.Attr(nil), l.attrs...), as...), group: l.group}
}

func (l *logRecorder) WithGroup(name string) slog.Handler {
	root := l
	if l.root != nil {
		root = l.root
	}
	return &logRecorder{root: root, attrs: l.attrs, group: name}
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
