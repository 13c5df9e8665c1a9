package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"github.com/coze2app/coze2app/internal/config"
)

// certFiles serves the certificate of a PEM certificate and key file pair
// and swaps it atomically when the files are re-read (SIGHUP after renewal).
type certFiles struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// loadCertFiles reads the pair once; a bad pair stops startup.
func loadCertFiles(certFile, keyFile string) (*certFiles, error) {
	c := &certFiles{certFile: certFile, keyFile: keyFile}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// reload re-reads the files. On any error the certificate in use stays, so a
// half-written renewal never takes the site down.
func (c *certFiles) reload() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s / key %s: %w", c.certFile, c.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("TLS certificate %s: %w", c.certFile, err)
		}
	}
	c.cur.Store(&cert)
	return nil
}

func (c *certFiles) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// leaf is the certificate in use, for logs.
func (c *certFiles) leaf() *x509.Certificate { return c.cur.Load().Leaf }

// httpsSetup is how coze2app serves HTTPS: from files or from an ACME CA.
type httpsSetup struct {
	tlsConfig *tls.Config
	files     *certFiles        // nil with ACME
	acme      *autocert.Manager // nil with files
}

// newHTTPS builds the TLS configuration, or returns nil when TLS is off.
func newHTTPS(cfg config.Config) (*httpsSetup, error) {
	switch {
	case cfg.TLSCert != "":
		files, err := loadCertFiles(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, err
		}
		return &httpsSetup{
			files: files,
			tlsConfig: &tls.Config{
				MinVersion:     tls.VersionTLS12,
				GetCertificate: files.getCertificate,
			},
		}, nil
	case len(cfg.ACMEDomains) > 0:
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(cfg.ACMEDomains...),
			Cache:      autocert.DirCache(acmeCacheDir(cfg)),
		}
		tc := m.TLSConfig() // h2, http/1.1 and the tls-alpn-01 challenge
		tc.MinVersion = tls.VersionTLS12
		return &httpsSetup{acme: m, tlsConfig: tc}, nil
	}
	return nil, nil
}

// acmeCacheDir keeps the ACME account key and certificates in
// COZE2APP_ACME_CACHE, or in acme-certs beside the SQLite database (config
// requires the setting with PostgreSQL).
func acmeCacheDir(cfg config.Config) string {
	if cfg.ACMECacheDir != "" {
		return cfg.ACMECacheDir
	}
	return filepath.Join(filepath.Dir(keyFilePath(cfg.DatabaseURL)), "acme-certs")
}

// acmeHTTPHandler answers the CA's http-01 challenge and sends every other
// plain-HTTP request to the HTTPS public URL.
func acmeHTTPHandler(m *autocert.Manager, publicURL string) http.Handler {
	return m.HTTPHandler(redirectToHTTPS(publicURL))
}

// redirectToHTTPS redirects to the public origin rather than the request's
// Host, which the client chooses. A body sent in clear is not replayed over
// HTTPS: methods other than GET and HEAD get an error.
func redirectToHTTPS(publicURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := publicURL + r.URL.RequestURI()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
				"code": "https_required", "message": "Use HTTPS: " + target,
			}})
			return
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
	})
}

// reloadOnHangup re-reads the certificate files (if any) on every SIGHUP
// until ctx ends.
func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, files *certFiles, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if files == nil {
				log.Info("SIGHUP: no TLS certificate files to reload")
				continue
			}
			if err := files.reload(); err != nil {
				log.Error("TLS certificate reload failed; still serving the previous certificate", "err", err)
				continue
			}
			leaf := files.leaf()
			log.Info("TLS certificate reloaded", "subject", leaf.Subject.String(), "serial", leaf.SerialNumber.String(), "not_after", leaf.NotAfter)
		}
	}
}

// plainServer is the base of every listener (the main one, the demo simulator on
// loopback, ACME on plain HTTP): header limits, idle timeout, HTTP/1.1 and h2c.
func plainServer(h http.Handler, log *slog.Logger) *http.Server {
	s := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	s.Protocols = new(http.Protocols)
	s.Protocols.SetHTTP1(true)
	s.Protocols.SetUnencryptedHTTP2(true) // the coze client speaks h2c to the simulator, and h2c proxies
	return s
}
