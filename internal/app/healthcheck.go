package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/coze2app/coze2app/internal/config"
)

// healthcheckTimeout bounds the whole probe; Docker's own timeout is longer.
const healthcheckTimeout = 5 * time.Second

// healthcheck GETs /healthz on the address the serve command listens on, read
// from the same flags and environment: the container image's HEALTHCHECK,
// since a minimal image has no curl.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, ok, err := loadConfig(args, getenv, stderr)
	if !ok {
		return err
	}
	target := healthURL(cfg)
	tr := &http.Transport{
		// The probe talks to its own server on loopback and sends nothing
		// secret; the certificate names the public host, not 127.0.0.1.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		Proxy:           nil, // never through HTTP_PROXY
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", target, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<10))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck %s: status %d", target, res.StatusCode)
	}
	_, err = fmt.Fprintf(stderr, "healthy: %s\n", target)
	return err
}

// healthURL is /healthz on the listen address, a wildcard host probed on
// loopback.
func healthURL(cfg config.Config) string {
	host, port, _ := net.SplitHostPort(cfg.Addr)
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	scheme := "http"
	if cfg.TLS() {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
}
