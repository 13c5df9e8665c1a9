// Package testkit builds the world that the tests of auth, chat and web share:
// the Coze simulator on an httptest server, a migrated store on a storetest
// target (SQLite unless the test asks for PostgreSQL), a sealer, and a Coze
// client pointed at the simulator. It signs users in through the real code
// (authorize URL → simulator consent page → callback → session), never by
// writing tokens in auth's format.
//
//	w := testkit.New(t, testkit.Options{RedirectURIs: []string{appURL + "/callback"}})
//	a, _ := auth.New(auth.Options{Coze: w.Coze, Store: w.Store, Sealer: w.Sealer})
//	testkit.SignInRoutes(mux, a)                       // GET /auth, GET /callback
//	alan := w.SignedInUser(t, testkit.Browser(t), appURL, cozesim.UserAlan)
//
// Only _test.go files import it. It does not import auth, so that auth's own
// tests can use it too: SignInRoutes takes anything with auth's two sign-in
// methods.
package testkit

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/seal"
	"github.com/coze2app/coze2app/internal/store"
	"github.com/coze2app/coze2app/internal/store/storetest"
)

// Options says how the world differs from the default one: SQLite, a
// confidential app, the simulator on its own server.
type Options struct {
	// Backend is "sqlite" (default) or "postgres" (skipped without a
	// database, fatal under CI=true; see storetest.PostgresURL).
	Backend string
	// DBURL is an existing database to open instead of a fresh one.
	DBURL string
	// Passphrase derives the sealer's keys as the app does (seal.ParseKeys);
	// empty: one random key "k1".
	Passphrase string
	// RedirectURIs are registered with the simulator's app; the Coze client
	// sends the first. Default: cozesim.DefaultApp's.
	RedirectURIs []string
	// Public makes the app a public (PKCE) client without a secret.
	Public bool
	// Sim adjusts the simulator's options (Apps is already set).
	Sim func(*cozesim.Options)
	// SimURL is where the caller mounts World.Sim itself (demo mode: the
	// app's origin + "/_sim"). Empty: the kit serves it on its own server.
	SimURL string
	// SimHandler wraps the simulator on its server (stubbed endpoints).
	SimHandler func(sim http.Handler) http.Handler
	// Coze adjusts the Coze client's options (base URLs and app already set).
	Coze func(*coze.Options)
}

// World is one simulator, one database and one sealer, and a Coze client
// for them. Everything is closed by tb.Cleanup; build the services on top of
// it after New, so that their cleanups run first.
type World struct {
	Sim    *cozesim.Sim
	SimURL string // API and www base of the simulator
	App    cozesim.App
	DBURL  string // the database; store.Open on it again reaches the same one
	Store  *store.Store
	Sealer *seal.Sealer
	Coze   *coze.Client
}

// New builds the world.
func New(tb testing.TB, o Options) *World {
	tb.Helper()
	w := &World{App: NewApp(o.Public, o.RedirectURIs...)}
	so := cozesim.Options{Apps: []cozesim.App{w.App}}
	if o.Sim != nil {
		o.Sim(&so)
	}
	if o.SimURL != "" {
		w.Sim, w.SimURL = cozesim.New(so), o.SimURL
		tb.Cleanup(w.Sim.Close)
	} else {
		w.Sim, w.SimURL = StartSim(tb, so, o.SimHandler)
	}
	w.DBURL = o.DBURL
	if w.DBURL == "" {
		w.DBURL = Target(o.Backend)(tb)
	}
	w.Store = storetest.MustOpen(tb, w.DBURL)
	w.Sealer = NewSealer(tb, "k1")
	if o.Passphrase != "" {
		keys, err := seal.ParseKeys(o.Passphrase)
		if err != nil {
			tb.Fatalf("seal.ParseKeys: %v", err)
		}
		if w.Sealer, err = seal.New(keys...); err != nil {
			tb.Fatalf("seal.New: %v", err)
		}
	}
	co := CozeOptions(w.SimURL, w.App)
	if o.Coze != nil {
		o.Coze(&co)
	}
	w.Coze = coze.New(co)
	return w
}

// NewApp is the simulator's default app, public (no secret) if asked, with
// redirects instead of the default ones if given.
func NewApp(public bool, redirects ...string) cozesim.App {
	app := cozesim.DefaultApp()
	if public {
		app.ClientSecret = ""
	}
	if len(redirects) > 0 {
		app.RedirectURIs = redirects
	}
	return app
}

// StartSim serves a new simulator (wrapped by wrap, if not nil) on an
// httptest server and returns it with the server's URL. Cleanup closes
// both.
func StartSim(tb testing.TB, so cozesim.Options, wrap func(http.Handler) http.Handler) (*cozesim.Sim, string) {
	tb.Helper()
	sim := cozesim.New(so)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		sim.Close()
	})
	return sim, srv.URL
}

// CozeOptions points a Coze client at the simulator at simURL as app.
func CozeOptions(simURL string, app cozesim.App) coze.Options {
	return coze.Options{
		APIBase:      simURL,
		WWWBase:      simURL,
		ClientID:     app.ClientID,
		ClientSecret: coze.ClientSecret(app.ClientSecret),
		RedirectURI:  app.RedirectURIs[0],
	}
}

// Target is the storetest target of backend: "sqlite" or "" for SQLite,
// "postgres" for PostgreSQL.
func Target(backend string) storetest.NewTarget {
	switch backend {
	case "", "sqlite":
		return storetest.SQLiteURL
	case "postgres":
		return storetest.PostgresURL
	}
	panic("testkit: unknown backend " + backend)
}

// NewSealer returns a sealer with one random key per id; the first is
// active.
func NewSealer(tb testing.TB, ids ...string) *seal.Sealer {
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

// SignInFlow is the sign-in half of *auth.Auth.
type SignInFlow interface {
	BeginSignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, returnTo, workspaceID string) (string, error)
	FinishSignIn(ctx context.Context, w http.ResponseWriter, r *http.Request) (string, error)
}

// SignInRoutes serves GET /auth and GET /callback on mux with f, the way the
// web layer does for a successful sign-in; a failure is a 400 with the
// error's text.
func SignInRoutes(mux *http.ServeMux, f SignInFlow) {
	mux.HandleFunc("GET /auth", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		u, err := f.BeginSignIn(r.Context(), w, r, q.Get("return_to"), q.Get("workspace_id"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		to, err := f.FinishSignIn(r.Context(), w, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	})
}

// Browser is a client with a cookie jar that does not follow redirects, so
// each hop of the sign-in can be checked.
func Browser(tb testing.TB) *http.Client {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Response is a fully read answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Get sends a GET with the Sec-Fetch-Site header a browser would send and
// reads the whole answer.
func Get(tb testing.TB, c *http.Client, url, fetchSite string) Response {
	tb.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", fetchSite)
	res, err := c.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("read GET %s: %v", url, err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Authorize starts the sign-in at appURL/auth in browser c, which must
// redirect to the simulator, approves the consent page as simUserID and
// returns the callback URL, which must be appURL/callback.
func (w *World) Authorize(tb testing.TB, c *http.Client, appURL, simUserID string) string {
	tb.Helper()
	r := Get(tb, c, appURL+"/auth", "same-origin")
	authorize := r.Header.Get("Location")
	if r.Status != http.StatusFound || !strings.HasPrefix(authorize, strings.TrimSuffix(w.SimURL, "/_sim")+"/") {
		tb.Fatalf("GET /auth = %d %q, want a redirect to the simulator %s; body %s", r.Status, authorize, w.SimURL, r.Body)
	}
	callback, err := cozesim.Consent(context.Background(), c, authorize, simUserID, "approve")
	if err != nil {
		tb.Fatal(err)
	}
	if !strings.HasPrefix(callback, appURL+"/callback?") {
		tb.Fatalf("consent redirected to %q, want %s/callback?...", callback, appURL)
	}
	return callback
}

// SignInAttempt walks the whole sign-in as simUserID and returns the
// callback's answer.
func (w *World) SignInAttempt(tb testing.TB, c *http.Client, appURL, simUserID string) Response {
	tb.Helper()
	return Get(tb, c, w.Authorize(tb, c, appURL, simUserID), "cross-site")
}

// SignIn walks the whole sign-in as simUserID; the callback must succeed,
// leaving the session cookie in c's jar.
func (w *World) SignIn(tb testing.TB, c *http.Client, appURL, simUserID string) {
	tb.Helper()
	if r := w.SignInAttempt(tb, c, appURL, simUserID); r.Status != http.StatusFound {
		tb.Fatalf("GET /callback = %d, want 302; body %s", r.Status, r.Body)
	}
}

// SignedInUser signs simUserID in (see SignIn) and returns the local user
// that the sign-in created.
func (w *World) SignedInUser(tb testing.TB, c *http.Client, appURL, simUserID string) store.User {
	tb.Helper()
	w.SignIn(tb, c, appURL, simUserID)
	return w.User(tb, simUserID)
}

// User returns the local user of Coze user cozeUserID.
func (w *World) User(tb testing.TB, cozeUserID string) store.User {
	tb.Helper()
	var id int64
	if err := w.Store.DB().QueryRowContext(context.Background(), `SELECT id FROM users WHERE coze_user_id = $1`, cozeUserID).Scan(&id); err != nil {
		tb.Fatalf("user %s: %v", cozeUserID, err)
	}
	u, err := w.Store.UserByID(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// WaitFor polls cond until it holds; the 20 s deadline only stops a hung
// test.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// SwapHandler serves the handler last Set (404 before), so a server can
// start before its handler exists, or be rebuilt behind the same URL.
type SwapHandler struct {
	mu sync.RWMutex
	h  http.Handler
}

// Set makes h serve from now on.
func (s *SwapHandler) Set(h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.h = h
}

func (s *SwapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	h := s.h
	s.mu.RUnlock()
	if h == nil {
		h = http.NotFoundHandler()
	}
	h.ServeHTTP(w, r)
}
