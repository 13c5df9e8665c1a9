package auth

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/seal"
	"github.com/coze2app/coze2app/internal/store"
	"github.com/coze2app/coze2app/internal/testkit"
)

// The test world: the real simulator behind one httptest server, one or more
// app instances (each its own store.Open, Auth and httptest server) around a
// tiny mux, and browsers with cookie jars that do not follow redirects.

// testSecret is the simulator app's client secret.
var testSecret = cozesim.DefaultApp().ClientSecret

var backends = []string{"sqlite", "postgres"}

type envOpts struct {
	backend   string   // "sqlite" (default) | "postgres"
	instances int      // default 1
	tls       bool     // app served over https with SecureCookies
	public    bool     // PKCE public client: no client secret
	pkce      PKCEMode // Options.PKCE; "" => the default (auto: PKCE only when public)
	cozeTO    time.Duration
	transport http.RoundTripper // for the coze client; nil => default
	sim       func(*cozesim.Options)
	auth      func(*Options)
}

type testEnv struct {
	t      *testing.T
	o      envOpts
	clock  *cozesim.FakeClock
	sim    *cozesim.Sim
	simURL string
	app    cozesim.App
	dbURL  string
	sealer *seal.Sealer
	logs   *logRecorder
	inst   []*instance
}

type instance struct {
	env *testEnv
	url string
	srv *httptest.Server
	h   *testkit.SwapHandler
	st  *store.Store
	a   *Auth
	cz  *coze.Client
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
	e.dbURL = testkit.Target(o.backend)(t)
	e.sealer = testkit.NewSealer(t, "k1")

	var redirects []string
	for range o.instances {
		h := &testkit.SwapHandler{}
		srv := httptest.NewUnstartedServer(h)
		scheme := "http"
		if o.tls {
			scheme = "https"
		}
		in := &instance{env: e, srv: srv, h: h, url: scheme + "://" + srv.Listener.Addr().String()}
		e.inst = append(e.inst, in)
		redirects = append(redirects, in.url+"/callback")
	}
	e.app = testkit.NewApp(o.public, redirects...)
	so := cozesim.Options{Clock: e.clock, Apps: []cozesim.App{e.app}}
	if o.sim != nil {
		o.sim(&so)
	}
	e.sim, e.simURL = testkit.StartSim(t, so, nil)
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
	// Every instance is configured with the same public redirect URI, as
	// behind a load balancer (catalog case 35).
	co := testkit.CozeOptions(e.simURL, e.app)
	co.Timeout = e.o.cozeTO
	if e.o.transport != nil {
		co.HTTPClient = &http.Client{Transport: e.o.transport}
	}
	cz := coze.New(co)
	ao := Options{
		Coze:          cz,
		Store:         st,
		Sealer:        e.sealer,
		Log:           slog.New(e.logs),
		Now:           e.clock.Now,
		Region:        "cn",
		PKCE:          e.o.pkce,
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
	in.h.Set(testMux(a, cz))
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
		me, err := cz.Me(r.Context(), a.Source(u.ID))
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
