package config

import (
	"slices"
	"strings"
	"testing"
)

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
			c, err := Load(tt.args, envOf(tt.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
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
