package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(nil, envOf(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
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
	c, err := Load([]string{"--addr", "127.0.0.1:9000"}, envOf(map[string]string{
		"COZE_REGION":        "com",
		"COZE_CLIENT_ID":     "123.app.coze",
		"COZE_CLIENT_SECRET": "s3cret",
		"COZE2APP_ADDR":      "127.0.0.1:8000",
		"COZE_PKCE":          "off",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
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
	c, err := Load(nil, envOf(map[string]string{
		"COZE_CLIENT_ID":        "123.app.coze",
		"COZE_CLIENT_SECRET":    "client-secret-value",
		"COZE2APP_SECRET_KEY":   "key-material-value-0123456789",
		"COZE2APP_DATABASE_URL": "postgres://u:dbpassword@h/db",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
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
