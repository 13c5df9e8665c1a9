package config

import (
	"strings"
	"testing"
)

// Catalog case 85 (issue 8 item 15): start-up refuses what cannot be safe and
// warns about what may be a mistake on the open internet.
func TestCase85_StartupRefusesOrWarns(t *testing.T) {
	real := map[string]string{"COZE_CLIENT_ID": "123.app.coze", "COZE_CLIENT_SECRET": "s3cret",
		"COZE_REDIRECT_URI": "https://chat.example/callback"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range real {
			m[k] = v
		}
		for k, v := range extra {
			if v == "-" {
				delete(m, k)
				continue
			}
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		refuse  string // substring of the error; "" = accepted
		warn    string // substring of a warning; "" = no warning
		noWarns bool
	}{
		{name: "https everywhere", env: with(nil), noWarns: true},
		{name: "http API base, remote", env: with(map[string]string{"COZE_API_BASE": "http://api.coze.cn"}), refuse: "COZE_API_BASE"},
		{name: "http API base, 10.x", env: with(map[string]string{"COZE_API_BASE": "http://10.0.0.7:7000"}), refuse: "clear text"},
		{name: "http API base, loopback", env: with(map[string]string{"COZE_API_BASE": "http://127.0.0.1:7000", "COZE_WWW_BASE": "http://localhost:7000"}), noWarns: true},
		{name: "http API base, ::1", env: with(map[string]string{"COZE_API_BASE": "http://[::1]:7000"}), noWarns: true},
		{name: "PKCE off, public client", env: with(map[string]string{"COZE_PKCE": "off", "COZE_CLIENT_SECRET": "-"}), refuse: "COZE_PKCE=off"},
		{name: "PKCE off, web app", env: with(map[string]string{"COZE_PKCE": "off"}), noWarns: true},
		{name: "http www base, remote", env: with(map[string]string{"COZE_WWW_BASE": "http://www.coze.cn"}), warn: "COZE_WWW_BASE"},
		{name: "http public URL, remote", env: with(map[string]string{"COZE_REDIRECT_URI": "http://chat.example/callback"}), warn: "COZE2APP_PUBLIC_URL"},
		{name: "http public URL, LAN address", env: with(map[string]string{"COZE2APP_PUBLIC_URL": "http://192.168.1.20:5000"}), warn: "Secure"},
		{name: "http public URL, localhost", env: with(map[string]string{"COZE_REDIRECT_URI": "http://localhost:5000/callback"}), noWarns: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, envOf(tt.env))
			if tt.refuse != "" {
				if err == nil || !strings.Contains(err.Error(), tt.refuse) {
					t.Fatalf("Load = %v, want a refusal mentioning %q", err, tt.refuse)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			warns := strings.Join(c.Warnings(), "\n")
			if tt.warn != "" && !strings.Contains(warns, tt.warn) {
				t.Errorf("warnings %q lack %q", warns, tt.warn)
			}
			if tt.noWarns && warns != "" {
				t.Errorf("unexpected warnings: %s", warns)
			}
		})
	}
}

// Catalog case 74 (issue 8 item 4): demo mode refuses a non-loopback address
// unless COZE2APP_DEMO_PUBLIC=on, and then warns loudly.
func TestCase74_DemoOnAPublicAddress(t *testing.T) {
	for _, tt := range []struct {
		addr, public string
		refuse       bool
		warn         bool
	}{
		{"localhost:5000", "", false, false},
		{"127.0.0.1:0", "", false, false},
		{"[::1]:5000", "", false, false},
		{"0.0.0.0:5000", "", true, false},
		{":5000", "", true, false},
		{"192.168.1.20:5000", "", true, false},
		{"0.0.0.0:5000", "on", false, true},
		{"0.0.0.0:5000", "yes please", true, false},
		{"localhost:5000", "on", false, false},
	} {
		c, err := Load(nil, envOf(map[string]string{"COZE2APP_ADDR": tt.addr, "COZE2APP_DEMO_PUBLIC": tt.public}))
		if refused := err != nil && strings.Contains(err.Error(), "COZE2APP_DEMO_PUBLIC"); refused != tt.refuse {
			t.Errorf("addr %s public %q: err = %v, want refused %v", tt.addr, tt.public, err, tt.refuse)
			continue
		}
		if err != nil {
			continue
		}
		warned := strings.Contains(strings.Join(c.Warnings(), "\n"), "DEMO MODE IS PUBLIC")
		if warned != tt.warn {
			t.Errorf("addr %s public %q: warnings %q, want warned %v", tt.addr, tt.public, c.Warnings(), tt.warn)
		}
	}
	// Real mode may listen anywhere.
	if _, err := Load(nil, envOf(map[string]string{"COZE2APP_ADDR": "0.0.0.0:5000", "COZE_CLIENT_ID": "1.app.coze", "COZE_CLIENT_SECRET": "s"})); err != nil {
		t.Errorf("real mode on 0.0.0.0: %v", err)
	}
}

// Catalog case 72 (issue 8 item 2): COZE2APP_TRUSTED_PROXIES takes CIDRs and
// bare addresses; anything else is a start-up error.
func TestCase72_TrustedProxies(t *testing.T) {
	c, err := Load(nil, envOf(map[string]string{"COZE2APP_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7 ,::1, 172.16.5.4/12"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.TrustedProxies {
		got = append(got, p.String())
	}
	if want := "10.0.0.0/8 192.0.2.7/32 ::1/128 172.16.0.0/12"; strings.Join(got, " ") != want {
		t.Errorf("trusted proxies = %v, want %s", got, want)
	}
	if _, err := Load(nil, envOf(map[string]string{"COZE2APP_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"})); err == nil || !strings.Contains(err.Error(), "COZE2APP_TRUSTED_PROXIES") {
		t.Errorf("a host name was accepted: %v", err)
	}
}

// Catalog case 73 (issue 8 item 3): the per-user caps are configurable.
func TestCase73_PerUserCaps(t *testing.T) {
	c, err := Load(nil, envOf(nil))
	if err != nil || c.MaxRepliesPerUser != 8 || c.MaxUploadsPerUser != 2 || c.ChatsPerMinute != 30 {
		t.Fatalf("defaults = %d %d %d (%v), want 4 2 30", c.MaxRepliesPerUser, c.MaxUploadsPerUser, c.ChatsPerMinute, err)
	}
	c, err = Load([]string{"-chats-per-minute", "12"}, envOf(map[string]string{"COZE2APP_MAX_REPLIES_PER_USER": "2", "COZE2APP_MAX_UPLOADS_PER_USER": "1"}))
	if err != nil || c.MaxRepliesPerUser != 2 || c.MaxUploadsPerUser != 1 || c.ChatsPerMinute != 12 {
		t.Fatalf("set = %d %d %d (%v), want 2 1 12", c.MaxRepliesPerUser, c.MaxUploadsPerUser, c.ChatsPerMinute, err)
	}
	for _, bad := range []string{"0", "-3", "many", "1000001"} {
		if _, err := Load(nil, envOf(map[string]string{"COZE2APP_MAX_REPLIES_PER_USER": bad})); err == nil || !strings.Contains(err.Error(), "COZE2APP_MAX_REPLIES_PER_USER") {
			t.Errorf("COZE2APP_MAX_REPLIES_PER_USER=%s: err = %v", bad, err)
		}
	}
}

// Catalog case 75 (issue 8 item 5): COZE2APP_ALLOW takes user:ID and
// workspace:ID entries; anything else is a start-up error.
func TestCase75_AllowListParsed(t *testing.T) {
	c, err := Load(nil, envOf(map[string]string{"COZE2APP_ALLOW": " user:7391000000000000101, workspace:7392000000000000200 ,User:42"}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.AllowUsers, ",") != "7391000000000000101,42" || strings.Join(c.AllowWorkspaces, ",") != "7392000000000000200" {
		t.Errorf("allow = %v %v", c.AllowUsers, c.AllowWorkspaces)
	}
	for _, bad := range []string{"7391000000000000101", "team:1", "user:", "user:abc", "workspace:1 2"} {
		if _, err := Load(nil, envOf(map[string]string{"COZE2APP_ALLOW": bad})); err == nil || !strings.Contains(err.Error(), "COZE2APP_ALLOW") {
			t.Errorf("COZE2APP_ALLOW=%q: err = %v, want refused", bad, err)
		}
	}
	if c, _ := Load(nil, envOf(nil)); len(c.AllowUsers)+len(c.AllowWorkspaces) != 0 {
		t.Error("the default allow-list is not empty")
	}
}
