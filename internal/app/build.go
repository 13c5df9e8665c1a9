package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/config"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/metrics"
	"github.com/coze2app/coze2app/internal/seal"
	"github.com/coze2app/coze2app/internal/store"
	"github.com/coze2app/coze2app/internal/web"
)

// listeners are the addresses the serve command binds before it builds
// anything: a taken port fails fast, and demo mode learns the port it got
// (its redirect URI and its own calls to the simulator use it).
type listeners struct {
	main    net.Listener // COZE2APP_ADDR
	acme    net.Listener // plain HTTP: ACME challenges, redirects to HTTPS
	metrics net.Listener // COZE2APP_METRICS_ADDR
	debug   net.Listener // COZE2APP_DEBUG_ADDR
	sim     net.Listener // the demo simulator on plain loopback when main speaks TLS
}

// listen binds every listener cfg asks for; on error none stays open.
func listen(cfg config.Config, https *httpsSetup) (*listeners, error) {
	ls := &listeners{}
	if err := ls.bind(cfg, https); err != nil {
		ls.close()
		return nil, err
	}
	return ls, nil
}

func (ls *listeners) bind(cfg config.Config, https *httpsSetup) error {
	type want struct {
		ln         *net.Listener
		addr, what string
	}
	wants := []want{{&ls.main, cfg.Addr, "on " + cfg.Addr}}
	if https != nil && https.acme != nil {
		wants = append(wants, want{&ls.acme, cfg.ACMEHTTPAddr, "on " + cfg.ACMEHTTPAddr + " for ACME challenges"})
	}
	if cfg.MetricsAddr != "" {
		wants = append(wants, want{&ls.metrics, cfg.MetricsAddr, "on COZE2APP_METRICS_ADDR " + cfg.MetricsAddr})
	}
	if cfg.DebugAddr != "" {
		wants = append(wants, want{&ls.debug, cfg.DebugAddr, "on COZE2APP_DEBUG_ADDR " + cfg.DebugAddr})
	}
	if cfg.Demo() && https != nil {
		// Our listener speaks TLS with a certificate for the public name:
		// the server reaches its simulator on a plain loopback one.
		wants = append(wants, want{&ls.sim, "127.0.0.1:0", "for the demo simulator"})
	}
	for _, w := range wants {
		ln, err := net.Listen("tcp", w.addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", w.what, err)
		}
		*w.ln = ln
	}
	if https == nil {
		// Streams over plain HTTP/1.1 give their connection back (reuse.go).
		ls.main = newReuseListener(ls.main)
	}
	return nil
}

func (ls *listeners) close() {
	for _, ln := range []net.Listener{ls.main, ls.acme, ls.metrics, ls.debug, ls.sim} {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

// server is the app built from its configuration: the parts that live as
// long as it does, and an HTTP server for each listener.
type server struct {
	cfg   config.Config
	log   *slog.Logger
	https *httpsSetup // nil without TLS
	ls    *listeners

	store        *store.Store
	sim          *cozesim.Sim          // demo mode only
	demo         *demoState            // its state in the database, demo mode only
	purgeDeleted func(context.Context) // deleted conversations past their undo window, here and at Coze (web.PurgeDeleted)
	simURL       string                // its base for browsers, in demo mode
	auth         *auth.Auth
	chat         *chat.Service
	draining     atomic.Bool // set first on shutdown: readiness fails
	bus          chat.Bus    // PostgreSQL: the instances act as one (cluster.go); nil with SQLite
	closeBus     func()

	main    *http.Server
	wg      sync.WaitGroup // every goroutine serve starts
	hup     chan os.Signal // SIGHUP, while serving
	helpers []served       // the demo simulator on loopback, ACME: a failure stops the app
	private []served       // metrics, debug: for the operator; a failure is logged
}

// served is a helper or private listener and the server on it.
type served struct {
	what, path string // for the "<what> listening" log line
	ln         net.Listener
	srv        *http.Server
}

// build makes the app from cfg on the bound listeners: store → token sealer
// → Coze client (or the demo simulator) → auth → chat → web → HTTP servers.
// Nothing is served yet; on error whatever was opened is closed again, the
// listeners too.
func build(ctx context.Context, cfg config.Config, https *httpsSetup, ls *listeners, log *slog.Logger) (*server, error) {
	s := &server{cfg: cfg, log: log, https: https, ls: ls}
	if err := s.build(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *server) build(ctx context.Context) error {
	cfg, log := s.cfg, s.log
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	s.store = st
	markInterrupted(ctx, cfg, st, log)
	if s.bus, s.closeBus, err = openBus(ctx, st, log); err != nil {
		return err
	}
	sealer, err := openSealer(ctx, cfg, st)
	if err != nil {
		return err
	}
	reg := metrics.New()
	cz := coze.New(s.cozeOptions())
	if s.demo != nil {
		s.demo.sim, s.demo.store, s.demo.sealer, s.demo.log = s.sim, st, sealer, log
		s.demo.restore(ctx)
	}

	s.auth, err = auth.New(auth.Options{
		Coze:          cz,
		Store:         st,
		Sealer:        sealer,
		Log:           log.With("component", "auth"),
		Region:        cfg.Region,
		PKCE:          auth.PKCEMode(cfg.PKCE),
		SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"),
		OnRefresh:     reg.Refresh,

		AllowUsers:      cfg.AllowUsers,
		AllowWorkspaces: cfg.AllowWorkspaces,
	})
	if err != nil {
		return fmt.Errorf("set up sign-in: %w", err)
	}
	log.Info("sign-in", "pkce", cfg.PKCE, "pkce_sent", s.auth.SendsPKCE(), "client_secret_set", cfg.ClientSecret != "")
	s.chat = chat.New(chat.Options{
		Coze:   cz,
		Tokens: s.auth,
		Store:  st,
		Log:    log.With("component", "chat"),

		MaxRepliesPerUser: cfg.MaxRepliesPerUser,
		Bus:               s.bus,
		KeepAlive:         keepAlive(s.ls.main),
	})

	var simHandler http.Handler
	if s.sim != nil {
		simHandler = s.sim
	}
	deps := web.Deps{
		Auth:      s.auth,
		Chat:      s.chat,
		Store:     st,
		Coze:      cz,
		Metrics:   reg,
		Log:       log,
		PublicURL: cfg.PublicURL,
		Demo:      cfg.Demo(),
		Sim:       simHandler,
		Region:    cfg.Region,
		Ready:     func() bool { return !s.draining.Load() },

		TrustedProxies:    cfg.TrustedProxies,
		ChatsPerMinute:    cfg.ChatsPerMinute,
		MaxUploadsPerUser: cfg.MaxUploadsPerUser,
	}
	handler, err := web.New(deps)
	if err != nil {
		return fmt.Errorf("build web handler: %w", err)
	}
	s.purgeDeleted = func(ctx context.Context) { web.PurgeDeleted(ctx, deps) }
	s.servers(handler, reg)
	return nil
}

// markInterrupted marks replies still "streaming", cut off by a crash or kill
// (catalog case 66). With SQLite this is the only instance, so all of them
// are; with PostgreSQL another instance may still be relaying, so only old ones.
func markInterrupted(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) {
	cutoff := time.Now().Add(-staleReplyAge)
	if !cfg.Postgres() {
		cutoff = time.Now()
	}
	if n, err := st.MarkInterrupted(ctx, cutoff); err != nil {
		log.Warn("mark interrupted replies", "err", err)
	} else if n > 0 {
		log.Info("marked interrupted replies", "count", n)
	}
}

// cozeOptions configures the Coze client: real Coze as configured, or in
// demo mode the built-in simulator (made here, mounted at /_sim).
func (s *server) cozeOptions() coze.Options {
	cfg := s.cfg
	o := coze.Options{
		APIBase:      cfg.APIBase,
		WWWBase:      cfg.WWWBase,
		ClientID:     cfg.ClientID,
		ClientSecret: coze.ClientSecret(cfg.ClientSecret),
		RedirectURI:  cfg.RedirectURI,

		UnencryptedHTTP2:    cfg.APIH2C,
		WorkflowIdleTimeout: cfg.WorkflowIdle,
	}
	if !cfg.Demo() {
		return o
	}
	s.demo = newDemoState()
	s.sim = cozesim.New(cozesim.Options{
		PathPrefix: "/_sim",
		Apps: []cozesim.App{{
			Name:         "coze2app demo",
			ClientID:     demoClientID,
			RedirectURIs: []string{cfg.RedirectURI},
		}},
		DeltaDelay:      cfg.SimDeltaDelay,
		ChatDelay:       300 * time.Millisecond,
		HostileMetadata: cfg.SimHostile,
		Logger:          s.log.With("component", "cozesim"),
		OnChange:        s.demo.changed,
	})
	// The server talks to the simulator over loopback on our own listener
	// (or, when that speaks TLS, on a plain one of its own); the browser
	// reaches its consent page on the public URL.
	o.APIBase = "http://" + loopbackAddr(s.ls.main.Addr().(*net.TCPAddr)) + "/_sim"
	if s.ls.sim != nil {
		o.APIBase = "http://" + s.ls.sim.Addr().String() + "/_sim"
	}
	o.WWWBase = cfg.PublicURL + "/_sim"
	o.ClientID = demoClientID
	o.UnencryptedHTTP2 = true // our own listener speaks h2c (plainServer)
	s.simURL = o.WWWBase
	s.log.Warn("demo mode: COZE_CLIENT_ID is empty, so the built-in Coze simulator stands in for Coze", "sim_url", o.WWWBase)
	return o
}

// servers makes the HTTP server of each listener.
func (s *server) servers(handler http.Handler, reg *metrics.Metrics) {
	// Browsers speak HTTP/1.1 (or HTTP/2 through a TLS proxy); unencrypted HTTP/2 is
	// accepted too, for the demo's own client and h2c proxies: the header limits and
	// protocols of every listener (plainServer), plus body and write deadlines.
	s.main = plainServer(handler, s.log)
	s.main.ReadTimeout = 2 * time.Minute // uploads; JSON bodies are small and bounded
	// Streams clear this per response with ResponseController; every other route keeps
	// the protection.
	s.main.WriteTimeout = 2 * time.Minute
	if s.https != nil {
		s.main.Protocols.SetHTTP2(true)
		s.main.TLSConfig = s.https.tlsConfig
	}

	if s.ls.sim != nil {
		s.helpers = append(s.helpers, served{ln: s.ls.sim, srv: plainServer(http.StripPrefix("/_sim", s.sim), s.log)})
	}
	if s.ls.acme != nil {
		s.helpers = append(s.helpers, served{ln: s.ls.acme, srv: plainServer(acmeHTTPHandler(s.https.acme, s.cfg.PublicURL), s.log)})
	}

	private := func(ln net.Listener, what, path string, h http.Handler, writeTimeout time.Duration) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: writeTimeout,
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
		s.private = append(s.private, served{what: what, path: path, ln: ln, srv: srv})
	}
	if s.ls.metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", reg.Handler())
		private(s.ls.metrics, "metrics", "/metrics", mux, 30*time.Second)
	}
	if s.ls.debug != nil {
		// No write timeout: a CPU profile or trace streams for as long as asked.
		private(s.ls.debug, "debug", "/debug/pprof/", pprofMux(), 0)
	}
}

// keepAlive is how the chat relays hand a connection back to ln's server
// (reuseListener), nil when ln has no way back in.
func keepAlive(ln net.Listener) func(net.Conn) bool {
	if rl, ok := ln.(*reuseListener); ok {
		return rl.Reuse
	}
	return nil
}

// close releases what build opened, and the listeners.
func (s *server) close() {
	if s.sim != nil {
		s.sim.Close()
	}
	if s.closeBus != nil {
		s.closeBus()
	}
	if s.store != nil {
		s.store.Close()
	}
	s.ls.close()
}

// demoClientID is the OAuth app the built-in simulator knows in demo mode.
const demoClientID = "10000000000000000000000000000001.app.coze"

// demoAddresses points the redirect URI and public URL at the address really
// bound when they were not configured (port 0 in tests, another port).
func demoAddresses(cfg *config.Config, addr *net.TCPAddr) {
	if cfg.RedirectURISet {
		return
	}
	if len(cfg.ACMEDomains) > 0 {
		return // the public name is the certificate's domain
	}
	host, _, _ := net.SplitHostPort(cfg.Addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	scheme := "http"
	if cfg.TLS() {
		scheme = "https"
	}
	origin := scheme + "://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
	defaultOrigin := scheme + "://localhost:5000"
	cfg.RedirectURI = origin + "/callback"
	if cfg.PublicURL == defaultOrigin {
		cfg.PublicURL = origin
	}
}

// loopbackAddr is how this process reaches its own listener: through
// loopback, so its requests pass the Host check, whatever the bound address.
func loopbackAddr(a *net.TCPAddr) string {
	ip := a.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

// openSealer builds the token sealer from COZE2APP_SECRET_KEY, or from a key
// file kept (0600) beside the SQLite database. A passphrase is stretched with
// PBKDF2 under a salt kept in the database (issue 8 item 9); its earlier
// unsalted key still opens what it sealed.
func openSealer(ctx context.Context, cfg config.Config, st *store.Store) (*seal.Sealer, error) {
	spec := string(cfg.SecretKey)
	if spec == "" {
		path := keyFilePath(cfg.DatabaseURL)
		var err error
		spec, err = seal.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("token encryption key file %s: %w", path, err)
		}
	}
	if seal.IsPassphrase(spec) {
		salt, err := st.SealSalt(ctx, seal.NewSalt())
		if err != nil {
			return nil, fmt.Errorf("COZE2APP_SECRET_KEY: %w", err)
		}
		keys, err := seal.PassphraseKeys(spec, salt)
		if err != nil {
			return nil, fmt.Errorf("COZE2APP_SECRET_KEY: %w", err)
		}
		return seal.New(keys...)
	}
	keys, err := seal.ParseKeys(spec)
	if err != nil {
		return nil, fmt.Errorf("COZE2APP_SECRET_KEY: %w", err)
	}
	return seal.New(keys...)
}

// keyFilePath puts coze2app.key in the SQLite database's directory.
func keyFilePath(dbURL string) string {
	p := strings.TrimPrefix(dbURL, "sqlite:")
	if strings.HasPrefix(p, "file:") {
		if u, err := url.Parse(p); err == nil {
			p = u.Opaque
			if p == "" {
				p = u.Path
			}
		}
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	dir := filepath.Dir(p)
	if dir == "" {
		dir = "."
	}
	return filepath.Join(dir, "coze2app.key")
}

// staleReplyAge is how long a reply may stay "streaming" before it counts as
// interrupted: well past chat's 5-minute reply budget.
const staleReplyAge = 15 * time.Minute

// pprofMux serves net/http/pprof on its own mux; importing the package also
// registers it on http.DefaultServeMux, which nothing here serves.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
