package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/config"
	"github.com/coze2app/coze2app/internal/store"
)

// shutdownTimeout bounds the graceful drain on SIGTERM.
const shutdownTimeout = 20 * time.Second

// Server is a running serve command, as Start returns it: where it listens,
// and how to stop it. Run is Start followed by Wait.
type Server struct {
	// URL is the main listener's base URL as bound (scheme://host:port), the
	// one logged as "listening".
	URL string
	// PublicURL is the origin browsers are sent to: COZE2APP_PUBLIC_URL, or
	// in demo mode the address really bound.
	PublicURL string
	// SimURL is the built-in simulator's base as browsers reach it
	// (PublicURL + "/_sim") in demo mode; empty with real Coze.
	SimURL string
	// MetricsURL (…/metrics) and DebugURL (…/debug/pprof/) are the operator's
	// listeners, ACMEURL the plain-HTTP one for ACME challenges; each is
	// empty when not configured.
	MetricsURL, DebugURL, ACMEURL string

	stop context.CancelFunc
	done chan struct{}
	err  error
}

// Done is closed once the server has shut down.
func (s *Server) Done() <-chan struct{} { return s.done }

// Wait blocks until the server has shut down (its context done, Close
// called, or a listener failed) and returns why it stopped: nil after a
// requested shutdown.
func (s *Server) Wait() error {
	<-s.done
	return s.err
}

// Close shuts the server down gracefully, as SIGTERM does (live replies
// finish or are recorded), and waits for it.
func (s *Server) Close() error {
	s.stop()
	return s.Wait()
}

// Start runs the serve command until it accepts connections and returns the
// running server; args are the serve flags (coze2app serve -h). It logs as
// Run does, "listening" and the plain "open <public URL>" line included.
// The server shuts down gracefully when ctx is done or Close is called.
// When args ask for help, Start prints the usage and returns flag.ErrHelp.
func Start(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) (*Server, error) {
	cfg, ok, err := loadConfig(args, getenv, stderr)
	if !ok {
		if err == nil {
			err = flag.ErrHelp
		}
		return nil, err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	https, err := newHTTPS(cfg)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings() {
		log.Warn("unsafe configuration: " + w)
	}
	if !cfg.Demo() && len(cfg.AllowUsers)+len(cfg.AllowWorkspaces) == 0 {
		log.Info("COZE2APP_ALLOW is empty: anyone with a Coze account can sign in")
	}
	ls, err := listen(cfg, https)
	if err != nil {
		return nil, err
	}
	if cfg.Demo() {
		demoAddresses(&cfg, ls.main.Addr().(*net.TCPAddr))
	}
	log.Info("starting", "version", version(), "config", cfg)
	srv, err := build(ctx, cfg, https, ls, log)
	if err != nil {
		return nil, err
	}
	return srv.start(ctx, stderr), nil
}

// serve is the serve command: Start, then Wait.
func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	s, err := Start(ctx, args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.Wait()
}

// start serves every listener, logs "listening" and returns the handle; a
// goroutine waits for the end and shuts down gracefully.
func (s *server) start(ctx context.Context, stderr io.Writer) *Server {
	ctx, stop := context.WithCancel(ctx)
	scheme := "http"
	if s.https != nil {
		scheme = "https"
	}
	h := &Server{
		URL:        scheme + "://" + s.ls.main.Addr().String(),
		PublicURL:  s.cfg.PublicURL,
		SimURL:     s.simURL,
		MetricsURL: httpURL(s.ls.metrics, "/metrics"),
		DebugURL:   httpURL(s.ls.debug, "/debug/pprof/"),
		ACMEURL:    httpURL(s.ls.acme, ""),
		stop:       stop,
		done:       make(chan struct{}),
	}
	serveErr := s.serve(ctx)
	s.log.Info("listening", "url", h.URL, "public_url", s.cfg.PublicURL, "demo", s.cfg.Demo())
	// One plain line a person can act on, whatever the log format.
	fmt.Fprintf(stderr, "open %s\n", s.cfg.PublicURL)
	go func() {
		defer close(h.done)
		h.err = s.wait(ctx, stop, serveErr)
	}()
	return h
}

// serve starts the background work (the sweep, SIGHUP reloads, both until
// ctx is done) and a goroutine per listener. The main server and the
// helpers report on the returned channel when they stop serving.
func (s *server) serve(ctx context.Context) <-chan error {
	s.wg.Go(func() { sweep(ctx, s.auth, s.store, s.purgeDeleted, s.log) })
	if s.demo != nil {
		s.wg.Go(func() { s.demo.run(ctx) }) // its last save waits for the drain: see wait
	}

	// /metrics and pprof get listeners of their own, never the public one
	// (issue 8 item 12): they are for the operator.
	for _, p := range s.private {
		s.wg.Go(func() {
			if err := p.srv.Serve(p.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Warn(p.what+" listener stopped", "err", err)
			}
		})
		s.log.Info(p.what+" listening", "url", httpURL(p.ln, p.path))
	}

	serveErr := make(chan error, 1+len(s.helpers))
	s.wg.Go(func() {
		if s.https != nil {
			serveErr <- s.main.ServeTLS(s.ls.main, "", "")
		} else {
			serveErr <- s.main.Serve(s.ls.main)
		}
	})
	// Helper listeners: the demo simulator on loopback, the ACME challenge
	// and HTTPS redirect on plain HTTP.
	for _, p := range s.helpers {
		s.wg.Go(func() { serveErr <- p.srv.Serve(p.ln) })
	}
	if s.ls.acme != nil {
		s.log.Info("ACME", "domains", s.cfg.ACMEDomains, "cache", acmeCacheDir(s.cfg), "http_addr", s.ls.acme.Addr().String())
	}

	// SIGHUP re-reads the certificate files. Taken even without them, so a
	// `systemctl reload` never stops the process (the default action).
	s.hup = make(chan os.Signal, 1)
	signal.Notify(s.hup, syscall.SIGHUP)
	var files *certFiles
	if s.https != nil && s.https.files != nil {
		files = s.https.files
		leaf := files.leaf()
		s.log.Info("TLS certificate", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter, "reload", "SIGHUP")
	}
	s.wg.Go(func() { reloadOnHangup(ctx, s.hup, files, s.log) })
	return serveErr
}

// wait blocks until ctx is done or a server stops on its own, then shuts
// everything down (stop ends the background work) and returns the serve
// error, if any.
func (s *server) wait(ctx context.Context, stop context.CancelFunc, serveErr <-chan error) error {
	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("serve: %w", err)
		}
	}
	s.shutdown(ctx)
	stop()
	signal.Stop(s.hup)
	s.wg.Wait()
	s.auth.Wait() // refreshes run detached from requests; let them persist
	s.log.Info("stopped")
	s.close()
	return runErr
}

// shutdown drains: readiness fails first, live replies finish or are
// recorded, then the servers stop accepting and wait for their handlers.
func (s *server) shutdown(ctx context.Context) {
	s.draining.Store(true)
	s.log.Info("shutting down")
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if s.bus != nil && s.sim == nil {
		handOver(s.ls.main, s.main) // the others take over (the demo's simulator needs this listener)
	}
	if err := s.chat.Shutdown(ctx); err != nil {
		s.log.Warn("chat shutdown", "err", err)
	}
	if err := s.main.Shutdown(ctx); err != nil {
		s.log.Warn("http shutdown", "err", err)
		_ = s.main.Close()
	}
	for _, p := range s.helpers {
		if err := p.srv.Shutdown(ctx); err != nil {
			_ = p.srv.Close()
		}
	}
	for _, p := range s.private {
		_ = p.srv.Shutdown(ctx)
	}
}

// httpURL is the plain-HTTP URL of path on ln, or "" without a listener.
func httpURL(ln net.Listener, path string) string {
	if ln == nil {
		return ""
	}
	return "http://" + ln.Addr().String() + path
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

// uploadedFileAge is how long an upload's sniffed kind is kept: Coze keeps
// uploads three months (coze-protocol §12.1); past that the id is dead anyway.
const uploadedFileAge = 100 * 24 * time.Hour

// sweep deletes expired sessions, pending sign-ins, old upload records and
// deleted conversations past their undo window, and marks replies orphaned by
// a dead instance, every few minutes.
func sweep(ctx context.Context, a *auth.Auth, st *store.Store, purgeDeleted func(context.Context), log *slog.Logger) {
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
		// Deleted conversations past their undo window, here and at Coze (the
		// web handlers purge on the next delete too).
		purgeDeleted(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
