package app

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// `coze2app healthcheck` (the image's HEALTHCHECK) succeeds against a live
// server, plain or TLS, and fails when nothing listens or /healthz is not 200.
func TestHealthcheckCommand(t *testing.T) {
	plain := mustStart(t, map[string]string{
		"COZE2APP_ADDR":         "127.0.0.1:0",
		"COZE2APP_DATABASE_URL": "sqlite:" + t.TempDir() + "/coze2app.db",
	})
	cert := writeSelfSigned(t, t.TempDir(), 4001)
	secure := mustStart(t, tlsDemoEnv(t, cert))
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	closed := freeAddr(t)

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string // empty: healthy
	}{
		{"plain", map[string]string{"COZE2APP_ADDR": strings.TrimPrefix(plain.URL, "http://")}, nil, ""},
		{"flag like serve", nil, []string{"--addr", strings.TrimPrefix(plain.URL, "http://")}, ""},
		{"TLS", map[string]string{"COZE2APP_ADDR": strings.TrimPrefix(secure.URL, "https://"),
			"COZE2APP_TLS_CERT": cert.certFile, "COZE2APP_TLS_KEY": cert.keyFile}, nil, ""},
		{"nothing listens", map[string]string{"COZE2APP_ADDR": closed}, nil, "connection refused"},
		{"unhealthy", map[string]string{"COZE2APP_ADDR": strings.TrimPrefix(failing.URL, "http://")}, nil, "status 503"},
		{"bad configuration", map[string]string{"COZE2APP_ADDR": "nohostport"}, nil, "COZE2APP_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(t.Context(), append([]string{"healthcheck"}, tt.args...), func(k string) string { return tt.env[k] }, &out)
			if tt.wantErr == "" {
				if err != nil || !strings.Contains(out.String(), "healthy") {
					t.Errorf("healthcheck = %v (%s), want healthy", err, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("healthcheck = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// A wildcard listen address is probed on loopback, with the right scheme.
func TestHealthURL(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"COZE2APP_ADDR": ":5000"}, "http://127.0.0.1:5000/healthz"},
		{map[string]string{"COZE2APP_ADDR": "0.0.0.0:8080"}, "http://127.0.0.1:8080/healthz"},
		{map[string]string{"COZE2APP_ADDR": "[::]:8080"}, "http://[::1]:8080/healthz"},
		{map[string]string{"COZE2APP_ADDR": "localhost:5000"}, "http://localhost:5000/healthz"},
		{map[string]string{"COZE2APP_ADDR": ":8443", "COZE2APP_TLS_CERT": "c.pem", "COZE2APP_TLS_KEY": "k.pem"}, "https://127.0.0.1:8443/healthz"},
	}
	for _, tt := range tests {
		// Demo mode on a wildcard address must be asked for (issue 8 item 4).
		tt.env["COZE2APP_DEMO_PUBLIC"] = "on"
		if got := healthURL(mustConfig(t, tt.env)); got != tt.want {
			t.Errorf("healthURL(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
}
