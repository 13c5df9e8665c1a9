package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// mustLoad loads the configuration of args and env, failing on an error.
func mustLoad(t *testing.T, args []string, env map[string]string) Config {
	t.Helper()
	c, err := Load(args, envOf(env))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestLoadDefaults(t *testing.T) {
	c := mustLoad(t, nil, nil)
	checks := []struct {
		name, got, want string
	}{
		{"redirect", c.RedirectURI, "http://localhost:5000/callback"},
		{"api", c.APIBase, APIBaseCN},
		{"www", c.WWWBase, WWWBaseCN},
		{"addr", c.Addr, "localhost:5000"},
		{"db", c.DatabaseURL, "sqlite:coze2app.db"},
		{"public", c.PublicURL, "http://localhost:5000"},
	}
	for _, tt := range checks {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if !c.Demo() || c.PKCE != PKCEAuto || c.RedirectURISet {
		t.Errorf("demo=%v pkce=%q redirectSet=%v, want true auto false", c.Demo(), c.PKCE, c.RedirectURISet)
	}
}

func TestLoadRegionAndFlagsOverrideEnv(t *testing.T) {
	c := mustLoad(t, []string{"--addr", "127.0.0.1:9000"}, map[string]string{
		"COZE_REGION":        "com",
		"COZE_CLIENT_ID":     "123.app.coze",
		"COZE_CLIENT_SECRET": "s3cret",
		"COZE2APP_ADDR":      "127.0.0.1:8000",
		"COZE_PKCE":          "off",
	})
	if c.APIBase != APIBaseCOM || c.WWWBase != WWWBaseCOM {
		t.Errorf("bases = %q %q, want coze.com", c.APIBase, c.WWWBase)
	}
	if c.Addr != "127.0.0.1:9000" {
		t.Errorf("addr = %q, want the flag value", c.Addr)
	}
	if c.Demo() || c.PKCE != PKCEOff {
		t.Errorf("demo=%v pkce=%q, want false off", c.Demo(), c.PKCE)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load(nil, envOf(map[string]string{
		"COZE_REGION":           "mars",
		"COZE_PKCE":             "maybe",
		"COZE_CLIENT_SECRET":    "x",
		"COZE2APP_ADDR":         "nohostport",
		"COZE_REDIRECT_URI":     "ftp://x/cb",
		"COZE2APP_DATABASE_URL": "postgres://u@h/db",
		"COZE2APP_LOG_LEVEL":    "loud",
	}))
	if err == nil {
		t.Fatal("Load succeeded, want errors")
	}
	for _, want := range []string{"COZE_REGION", "COZE_PKCE", "COZE_CLIENT_SECRET", "COZE2APP_ADDR", "COZE_REDIRECT_URI", "COZE2APP_SECRET_KEY", "COZE2APP_LOG_LEVEL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

// COZE_PKCE and --pkce take auto (the default), on or off; anything else,
// including the old spellings true/false, stops startup.
func TestLoadPKCEModes(t *testing.T) {
	tests := []struct {
		env, flag, want string
		wantErr         bool
	}{
		{"", "", PKCEAuto, false},
		{"auto", "", PKCEAuto, false},
		{"on", "", PKCEOn, false},
		{" OFF ", "", PKCEOff, false},
		{"on", "off", PKCEOff, false},
		{"", "on", PKCEOn, false},
		{"true", "", "", true},
		{"yes", "", "", true},
		{"", "s256", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.env+"/"+tt.flag, func(t *testing.T) {
			var args []string
			if tt.flag != "" {
				args = []string{"--pkce", tt.flag}
			}
			c, err := Load(args, envOf(map[string]string{"COZE_PKCE": tt.env}))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "COZE_PKCE") || !strings.Contains(err.Error(), "auto, on or off") {
					t.Errorf("Load = %v, want a COZE_PKCE error", err)
				}
				return
			}
			if err != nil || c.PKCE != tt.want {
				t.Errorf("Load = %q, %v; want %q", c.PKCE, err, tt.want)
			}
		})
	}
}

// TestSecretsRedacted covers catalog case 30's "print the config with %v and %+v".
func TestSecretsRedacted(t *testing.T) {
	c := mustLoad(t, nil, map[string]string{
		"COZE_CLIENT_ID":        "123.app.coze",
		"COZE_CLIENT_SECRET":    "client-secret-value",
		"COZE2APP_SECRET_KEY":   "key-material-value-0123456789",
		"COZE2APP_DATABASE_URL": "postgres://u:dbpassword@h/db",
	})
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("config", "config", c)
	fmt.Fprintf(&buf, "%v %+v %#v %s %q", c, c, c, c.ClientSecret, c.SecretKey)
	for _, secret := range []string{"client-secret-value", "key-material-value", "dbpassword"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("output leaks %q:\n%s", secret, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "[REDACTED]") {
		t.Errorf("output has no [REDACTED] marker:\n%s", buf.String())
	}
}

// HTTPS settings: certificate files or ACME, and the origins that follow.
func TestLoadTLS(t *testing.T) {
	tests := []struct {
		name                  string
		args                  []string
		env                   map[string]string
		wantPublic, wantRedir string
		wantDomains           []string
		wantTLS               bool
	}{
		{
			name:       "off by default",
			wantPublic: "http://localhost:5000", wantRedir: "http://localhost:5000/callback",
		},
		{
			name:       "certificate files make the default origin https",
			env:        map[string]string{"COZE2APP_TLS_CERT": "/etc/c.pem", "COZE2APP_TLS_KEY": "/etc/k.pem"},
			wantPublic: "https://localhost:5000", wantRedir: "https://localhost:5000/callback", wantTLS: true,
		},
		{
			name:       "flags mirror the environment",
			args:       []string{"--tls-cert", "/etc/c.pem", "--tls-key", "/etc/k.pem"},
			wantPublic: "https://localhost:5000", wantRedir: "https://localhost:5000/callback", wantTLS: true,
		},
		{
			name: "an https redirect URI gives the public URL",
			env: map[string]string{"COZE2APP_TLS_CERT": "c.pem", "COZE2APP_TLS_KEY": "k.pem",
				"COZE_REDIRECT_URI": "https://chat.example.com:8443/callback"},
			wantPublic: "https://chat.example.com:8443", wantRedir: "https://chat.example.com:8443/callback", wantTLS: true,
		},
		{
			name:       "ACME domains give the default origin",
			env:        map[string]string{"COZE2APP_ACME_DOMAINS": " Chat.Example.com, www.example.com ,"},
			wantPublic: "https://chat.example.com", wantRedir: "https://chat.example.com/callback",
			wantDomains: []string{"chat.example.com", "www.example.com"}, wantTLS: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, tt.args, tt.env)
			if c.TLS() != tt.wantTLS || c.PublicURL != tt.wantPublic || c.RedirectURI != tt.wantRedir {
				t.Errorf("TLS=%v public=%q redirect=%q, want %v %q %q", c.TLS(), c.PublicURL, c.RedirectURI, tt.wantTLS, tt.wantPublic, tt.wantRedir)
			}
			if !slices.Equal(c.ACMEDomains, tt.wantDomains) {
				t.Errorf("ACMEDomains = %q, want %q", c.ACMEDomains, tt.wantDomains)
			}
			if len(tt.wantDomains) > 0 && c.ACMEHTTPAddr != ":80" {
				t.Errorf("ACMEHTTPAddr = %q, want the default :80", c.ACMEHTTPAddr)
			}
		})
	}
}

func TestLoadTLSErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // in the error
	}{
		{"certificate without key", map[string]string{"COZE2APP_TLS_CERT": "c.pem"}, "COZE2APP_TLS_CERT and COZE2APP_TLS_KEY go together"},
		{"key without certificate", map[string]string{"COZE2APP_TLS_KEY": "k.pem"}, "COZE2APP_TLS_CERT and COZE2APP_TLS_KEY go together"},
		{"files and ACME", map[string]string{"COZE2APP_TLS_CERT": "c.pem", "COZE2APP_TLS_KEY": "k.pem", "COZE2APP_ACME_DOMAINS": "chat.example.com"}, "exclude each other"},
		{"ACME domain with a scheme", map[string]string{"COZE2APP_ACME_DOMAINS": "https://chat.example.com"}, `"https://chat.example.com" is not a domain name`},
		{"ACME wildcard", map[string]string{"COZE2APP_ACME_DOMAINS": "*.example.com"}, "is not a domain name"},
		{"ACME single label", map[string]string{"COZE2APP_ACME_DOMAINS": "localhost"}, "is not a domain name"},
		{"ACME HTTP address", map[string]string{"COZE2APP_ACME_DOMAINS": "chat.example.com", "COZE2APP_ACME_HTTP_ADDR": "80"}, "COZE2APP_ACME_HTTP_ADDR"},
		{"ACME on PostgreSQL without a cache", map[string]string{"COZE2APP_ACME_DOMAINS": "chat.example.com",
			"COZE2APP_DATABASE_URL": "postgres://u@h/db", "COZE2APP_SECRET_KEY": "k"}, "COZE2APP_ACME_CACHE is required"},
		{"http public URL with TLS", map[string]string{"COZE2APP_TLS_CERT": "c.pem", "COZE2APP_TLS_KEY": "k.pem",
			"COZE2APP_PUBLIC_URL": "http://chat.example.com"}, "COZE2APP_PUBLIC_URL: \"http://chat.example.com\" must be https://"},
		{"http redirect URI with TLS", map[string]string{"COZE2APP_ACME_DOMAINS": "chat.example.com",
			"COZE_REDIRECT_URI": "http://chat.example.com/callback"}, "COZE_REDIRECT_URI: \"http://chat.example.com/callback\" must be https://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(nil, envOf(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// COZE2APP_WORKFLOW_IDLE bounds a workflow stream's silence (coze-protocol E13).
func TestLoadWorkflowIdle(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     string
		want    time.Duration
		wantErr bool
	}{
		{"default", nil, "", 5 * time.Minute, false},
		{"env", nil, "90s", 90 * time.Second, false},
		{"flag over env", []string{"--workflow-idle", "10m"}, "90s", 10 * time.Minute, false},
		{"not a duration", nil, "five minutes", 0, true},
		{"zero", nil, "0", 0, true},
		{"negative", nil, "-1m", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.args, envOf(map[string]string{"COZE2APP_WORKFLOW_IDLE": tt.env}))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "COZE2APP_WORKFLOW_IDLE") {
					t.Errorf("err = %v, want one naming COZE2APP_WORKFLOW_IDLE", err)
				}
				return
			}
			if err != nil || c.WorkflowIdle != tt.want {
				t.Errorf("WorkflowIdle = %s, %v; want %s", c.WorkflowIdle, err, tt.want)
			}
		})
	}
}
