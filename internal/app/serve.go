package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// demoClientID is the OAuth app the built-in simulator knows in demo mode.
const demoClientID = "10000000000000000000000000000001.app.coze"

// shutdownTimeout bounds the graceful drain on SIGTERM.
const shutdownTimeout = 20 * time.Second

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, ok, err := loadConfig(args, getenv, stderr)
	if !ok {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	https, err := newHTTPS(cfg)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		log.Warn("unsafe configuration: " + w)
	}
	if !cfg.Demo() && len(cfg.AllowUsers)+len(cfg.AllowWorkspaces) == 0 {
		log.Info("COZE2APP_ALLOW is empty: anyone with a Coze account can sign in")
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	var acmeLn net.Listener // plain HTTP: ACME challenges, redirects to HTTPS
	if https != nil && https.acme != nil {
		if acmeLn, err = net.Listen("tcp", cfg.ACMEHTTPAddr); err != nil {
			return fmt.Errorf("listen on %s for ACME challenges: %w", cfg.ACMEHTTPAddr, err)
		}
		defer acmeLn.Close()
	}
	var mln net.Listener
	if cfg.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("listen on COZE2APP_METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
		}
		defer mln.Close()
	}
	var dln net.Listener
	if cfg.DebugAddr != "" {
		if dln, err = net.Listen("tcp", cfg.DebugAddr); err != nil {
			return fmt.Errorf("listen on COZE2APP_DEBUG_ADDR %s: %w", cfg.DebugAddr, err)
		}
		defer dln.Close()
	}
	if cfg.Demo() {
		demoAddresses(&cfg, ln.Addr().(*net.TCPAddr))
	}
	log.Info("starting", "version", version(), "config", cfg)

	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer st.Close()

	// Replies still "streaming" were cut off by a crash or kill (catalog case
	// 66). With SQLite this is the only instance, so all of them are; with
	// PostgreSQL another instance may still be relaying, so only old ones.
	cutoff := time.Now().Add(-staleReplyAge)
	if !cfg.Postgres() {
		cutoff = time.Now()
	}
	if n, err := st.MarkInterrupted(ctx, cutoff); err != nil {
		log.Warn("mark interrupted replies", "err", err)
	} else if n > 0 {
		log.Info("marked interrupted replies", "count", n)
	}

	bus, closeBus, err := openBus(ctx, st, log)
	if err != nil {
		return err
	}
	defer closeBus()

	sealer, err := openSealer(ctx, cfg, st)
	if err != nil {
		return err
	}

	reg := metrics.New()
	var sim *cozesim.Sim
	var simLn net.Listener // the simulator's plain loopback listener when ours speaks TLS
	cozeOpts := coze.Options{
		APIBase:      cfg.APIBase,
		WWWBase:      cfg.WWWBase,
		ClientID:     cfg.ClientID,
		ClientSecret: coze.ClientSecret(cfg.ClientSecret),
		RedirectURI:  cfg.RedirectURI,

		UnencryptedHTTP2:    cfg.APIH2C,
		WorkflowIdleTimeout: cfg.WorkflowIdle,
	}
	if cfg.Demo() {
		sim = cozesim.New(cozesim.Options{
			PathPrefix: "/_sim",
			Apps: []cozesim.App{{
				Name:         "coze2app demo",
				ClientID:     demoClientID,
				RedirectURIs: []string{cfg.RedirectURI},
			}},
			DeltaDelay:      cfg.SimDeltaDelay,
			ChatDelay:       300 * time.Millisecond,
			HostileMetadata: cfg.SimHostile,
			Logger:          log.With("component", "cozesim"),
		})
		defer sim.Close()
		// The server talks to the simulator over loopback on our own
		// listener; the browser reaches its consent page on the public URL.
		cozeOpts.APIBase = "http://" + loopbackAddr(ln.Addr().(*net.TCPAddr)) + "/_sim"
		if https != nil {
			// Our listener speaks TLS with a certificate for the public name:
			// the server reaches its simulator on a plain loopback one.
			if simLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
				return fmt.Errorf("listen for the demo simulator: %w", err)
			}
			defer simLn.Close()
			cozeOpts.APIBase = "http://" + simLn.Addr().String() + "/_sim"
		}
		cozeOpts.WWWBase = cfg.PublicURL + "/_sim"
		cozeOpts.ClientID = demoClientID
		cozeOpts.UnencryptedHTTP2 = true // our own listener speaks h2c (below)
		log.Warn("demo mode: COZE_CLIENT_ID is empty, so the built-in Coze simulator stands in for Coze", "sim_url", cozeOpts.WWWBase)
	}
	cz := coze.New(cozeOpts)

	a, err := auth.New(auth.Options{
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
	log.Info("sign-in", "pkce", cfg.PKCE, "pkce_sent", a.SendsPKCE(), "client_secret_set", cfg.ClientSecret != "")
	chats := chat.New(chat.Options{
		Coze:   cz,
		Tokens: a,
		Store:  st,
		Log:    log.With("component", "chat"),

		MaxRepliesPerUser: cfg.MaxRepliesPerUser,
		Bus:               bus,
	})

	var draining atomic.Bool
	var simHandler http.Handler
	if sim != nil {
		simHandler = sim
	}
	handler, err := web.New(web.Deps{
		Auth:      a,
		Chat:      chats,
		Store:     st,
		Coze:      cz,
		Metrics:   reg,
		Log:       log,
		PublicURL: cfg.PublicURL,
		Demo:      cfg.Demo(),
		Sim:       simHandler,
		Region:    cfg.Region,
		Ready:     func() bool { return !draining.Load() },

		TrustedProxies:    cfg.TrustedProxies,
		ChatsPerMinute:    cfg.ChatsPerMinute,
		MaxUploadsPerUser: cfg.MaxUploadsPerUser,
	})
	if err != nil {
		return fmt.Errorf("build web handler: %w", err)
	}

	// Browsers speak HTTP/1.1 (or HTTP/2 through a TLS proxy); unencrypted HTTP/2 is
	// accepted too, for the demo's own client and h2c proxies: the header limits and
	// protocols of every listener (plainServer), plus body and write deadlines.
	srv := plainServer(handler, log)
	srv.ReadTimeout = 2 * time.Minute // uploads; JSON bodies are small and bounded
	// Streams clear this per response with ResponseController; every other route keeps
	// the protection.
	srv.WriteTimeout = 2 * time.Minute
	scheme := "http"
	if https != nil {
		scheme = "https"
		srv.Protocols.SetHTTP2(true)
		srv.TLSConfig = https.tlsConfig
	}

	var wg sync.WaitGroup
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	wg.Go(func() { sweep(sweepCtx, a, st, log) })

	// /metrics and pprof get listeners of their own, never the public one
	// (issue 8 item 12): they are for the operator.
	var private []*http.Server
	servePrivate := func(ln net.Listener, what, path string, h http.Handler, writeTimeout time.Duration) {
		s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: writeTimeout,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
		private = append(private, s)
		wg.Go(func() {
			if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Warn(what+" listener stopped", "err", err)
			}
		})
		log.Info(what+" listening", "url", "http://"+ln.Addr().String()+path)
	}
	if mln != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", reg.Handler())
		servePrivate(mln, "metrics", "/metrics", mux, 30*time.Second)
	}
	if dln != nil {
		// No write timeout: a CPU profile or trace streams for as long as asked.
		servePrivate(dln, "debug", "/debug/pprof/", pprofMux(), 0)
	}

	serveErr := make(chan error, 3)
	if https != nil {
		wg.Go(func() { serveErr <- srv.ServeTLS(ln, "", "") })
	} else {
		wg.Go(func() { serveErr <- srv.Serve(ln) })
	}
	// Helper listeners: the demo simulator on loopback, the ACME challenge
	// and HTTPS redirect on plain HTTP.
	var helpers []*http.Server
	if simLn != nil {
		s := plainServer(http.StripPrefix("/_sim", sim), log)
		helpers = append(helpers, s)
		wg.Go(func() { serveErr <- s.Serve(simLn) })
	}
	if acmeLn != nil {
		s := plainServer(acmeHTTPHandler(https.acme, cfg.PublicURL), log)
		helpers = append(helpers, s)
		wg.Go(func() { serveErr <- s.Serve(acmeLn) })
		log.Info("ACME", "domains", cfg.ACMEDomains, "cache", acmeCacheDir(cfg), "http_addr", acmeLn.Addr().String())
	}
	// SIGHUP re-reads the certificate files. Taken even without them, so a
	// `systemctl reload` never stops the process (the default action).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var files *certFiles
	if https != nil && https.files != nil {
		files = https.files
		leaf := files.leaf()
		log.Info("TLS certificate", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter, "reload", "SIGHUP")
	}
	wg.Go(func() { reloadOnHangup(sweepCtx, hup, files, log) })
	log.Info("listening", "url", scheme+"://"+ln.Addr().String(), "public_url", cfg.PublicURL, "demo", cfg.Demo())
	// One plain line a person can act on, whatever the log format.
	fmt.Fprintf(stderr, "open %s\n", cfg.PublicURL)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("serve: %w", err)
		}
	}

	// Drain: readiness fails first, live replies finish or are recorded, then
	// the server stops accepting and waits for handlers.
	draining.Store(true)
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if bus != nil && sim == nil {
		handOver(ln, srv) // the others take over (the demo's simulator needs this listener)
	}
	if err := chats.Shutdown(shutCtx); err != nil {
		log.Warn("chat shutdown", "err", err)
	}
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown", "err", err)
		_ = srv.Close()
	}
	for _, s := range helpers {
		if err := s.Shutdown(shutCtx); err != nil {
			_ = s.Close()
		}
	}
	for _, s := range private {
		_ = s.Shutdown(shutCtx)
	}
	stopSweep()
	wg.Wait()
	a.Wait() // refreshes run detached from requests; let them persist
	log.Info("stopped")
	return runErr
}

// loadConfig reads the flags and environment shared by serve and healthcheck. ok is
// false when the command should end with err: nil after -h printed the usage.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (cfg config.Config, ok bool, err error) {
	cfg, err = config.Load(args, getenv)
	var help *config.HelpError
	if errors.As(err, &help) {
		_, err = fmt.Fprint(stderr, help.Usage)
		return cfg, false, err
	}
	return cfg, err == nil, err
}

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

// uploadedFileAge is how long an upload's sniffed kind is kept: Coze keeps
// uploads three months (coze-protocol §12.1); past that the id is dead anyway.
const uploadedFileAge = 100 * 24 * time.Hour

// sweep deletes expired sessions, pending sign-ins and old upload records and
// marks replies orphaned by a dead instance, every few minutes.
func sweep(ctx context.Context, a *auth.Auth, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		if err := a.SweepExpired(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweep expired sessions", "err", err)
		}
		if _, err := st.MarkInterrupted(ctx, time.Now().Add(-staleReplyAge)); err != nil && ctx.Err() == nil {
			log.Warn("sweep interrupted replies", "err", err)
		}
		if _, err := st.DeleteUploadedFilesBefore(ctx, time.Now().Add(-uploadedFileAge)); err != nil && ctx.Err() == nil {
			log.Warn("sweep uploaded files", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

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
