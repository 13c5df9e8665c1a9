package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// Catalog case 67: security headers on every response.

// cspDirectives parses a Content-Security-Policy header.
func cspDirectives(h string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(h, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			out[strings.ToLower(f[0])] = f[1:]
		}
	}
	return out
}

func checkCSP(t testing.TB, h string) {
	t.Helper()
	d := cspDirectives(h)
	want := map[string]string{"default-src": "'self'", "object-src": "'none'", "base-uri": "'none'", "frame-ancestors": "'none'"}
	for k, v := range want {
		if got := d[k]; len(got) != 1 || got[0] != v {
			t.Errorf("CSP %s = %v, want %s (policy %q)", k, got, v, h)
		}
	}
	script, ok := d["script-src"]
	if !ok {
		script = d["default-src"]
	}
	for _, s := range script {
		switch strings.ToLower(s) {
		case "'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:", "'unsafe-hashes'":
			t.Errorf("CSP script-src allows %s", s)
		}
	}
}

func TestCase67_SecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	res := mustChat(t, e, c, cozesim.BotAssistant, "headers", "")
	anon := e.newClient()
	type check struct {
		name       string
		client     *httpClient
		req        req
		wantStatus int
		cache      string // required Cache-Control ("" = any)
		sse        bool
	}
	chatBody := `{"bot_id":"` + cozesim.BotAssistant + `","message":"sse headers","stream":true}`
	tests := []check{
		{"index", anon, req{method: "GET", path: "/"}, 200, "no-cache", false},
		{"index HEAD", anon, req{method: "HEAD", path: "/"}, 200, "", false},
		{"static js", anon, req{method: "GET", path: "/static/js/main.js"}, 200, "no-cache", false},
		{"static css", anon, req{method: "GET", path: "/static/css/app.css"}, 200, "no-cache", false},
		{"static svg", anon, req{method: "GET", path: "/static/img/logo.svg"}, 200, "", false},
		{"catalog", anon, req{method: "GET", path: "/static/i18n/messages.json"}, 200, "no-cache", false},
		{"static missing", anon, req{method: "GET", path: "/static/nope.js"}, 404, "", false},
		{"page 404", anon, req{method: "GET", path: "/nope"}, 404, "", false},
		{"api 404", anon, req{method: "GET", path: "/api/nope"}, 404, "no-store", false},
		{"405", anon, req{method: "POST", path: "/healthz"}, 405, "", false},
		{"api 405", c, req{method: "PUT", path: "/api/conversations/" + res.ConversationID}, 405, "no-store", false},
		{"auth redirect", anon, req{method: "GET", path: "/auth"}, 302, "no-store", false},
		{"callback error page", anon, req{method: "GET", path: "/callback"}, 400, "no-store", false},
		{"callback denied page", anon, req{method: "GET", path: "/callback?error=access_denied&state=abc"}, 400, "no-store", false},
		{"status", anon, req{method: "GET", path: "/api/auth/status"}, 200, "no-store", false},
		{"401", anon, req{method: "GET", path: "/api/workspaces"}, 401, "no-store", false},
		{"400", c, req{method: "GET", path: "/api/bots/abc"}, 400, "no-store", false},
		{"403 cross-origin", c, req{method: "POST", path: "/api/auth/logout", hdr: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403, "no-store", false},
		{"bots", c, req{method: "GET", path: "/api/bots"}, 200, "no-store", false},
		{"messages", c, req{method: "GET", path: "/api/conversations/" + res.ConversationID + "/messages"}, 200, "no-store", false},
		{"export md", c, req{method: "GET", path: "/api/conversations/" + res.ConversationID + "/export?format=md"}, 200, "no-store", false},
		{"export json", c, req{method: "GET", path: "/api/conversations/" + res.ConversationID + "/export?format=json"}, 200, "no-store", false},
		{"sse", c, req{method: "POST", path: "/api/chat", ctype: "application/json", body: chatBody}, 200, "no-cache", true},
		{"sse resume", c, req{method: "GET", path: "/api/chat/" + res.ChatID + "/stream"}, 200, "no-cache", true},
		{"workflow sse", c, req{method: "POST", path: "/api/workflows/" + cozesim.WorkflowJoke + "/run", ctype: "application/json", body: `{"parameters":{}}`}, 200, "no-cache", true},
		{"healthz", anon, req{method: "GET", path: "/healthz"}, 200, "", false},
		{"readyz", anon, req{method: "GET", path: "/readyz"}, 200, "", false},
		{"metrics (own listener only)", anon, req{method: "GET", path: "/metrics"}, 404, "", false},
		{"sim off", anon, req{method: "GET", path: "/_sim/oauth/consent"}, 404, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			if r.hdr == nil {
				r.hdr = map[string]string{}
			}
			if r.hdr["Sec-Fetch-Site"] == "" {
				r.hdr["Sec-Fetch-Site"] = "same-origin"
			}
			r.hdr["Accept-Encoding"] = "gzip, deflate, br"
			got := e.send(tt.client, r)
			mustStatus(t, tt.name, got, tt.wantStatus)
			h := got.header
			checkCSP(t, h.Get("Content-Security-Policy"))
			if v := h.Get("X-Content-Type-Options"); v != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", v)
			}
			if v := h.Get("Referrer-Policy"); v != "no-referrer" {
				t.Errorf("Referrer-Policy = %q", v)
			}
			if v := h.Get("Strict-Transport-Security"); v != "" {
				t.Errorf("HSTS %q over plain http", v)
			}
			if v := h.Get("Access-Control-Allow-Origin"); v != "" {
				t.Errorf("Access-Control-Allow-Origin = %q", v)
			}
			if tt.cache != "" && h.Get("Cache-Control") != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", h.Get("Cache-Control"), tt.cache)
			}
			if strings.HasPrefix(tt.req.path, "/api/") && !tt.sse && h.Get("Cache-Control") != "no-store" {
				t.Errorf("/api response Cache-Control = %q, want no-store", h.Get("Cache-Control"))
			}
			ct := h.Get("Content-Type")
			if len(got.body) > 0 || tt.req.method == "HEAD" {
				if ct == "" {
					t.Errorf("no Content-Type")
				}
				if (strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/json")) && !strings.Contains(ct, "charset=utf-8") {
					t.Errorf("Content-Type %q has no charset", ct)
				}
			}
			if enc := h.Get("Content-Encoding"); enc != "" && tt.sse {
				t.Errorf("SSE Content-Encoding = %q", enc)
			}
			if tt.sse {
				if !strings.HasPrefix(ct, "text/event-stream") || h.Get("X-Accel-Buffering") != "no" {
					t.Errorf("SSE headers: Content-Type %q, X-Accel-Buffering %q", ct, h.Get("X-Accel-Buffering"))
				}
			}
		})
	}
}

type httpClient = http.Client

func TestCase67_HSTSWhenPublicURLIsHTTPS(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{publicURL: "https://app.example"})
	c := e.newClient()
	for _, p := range []string{"/", "/api/auth/status", "/nope", "/callback", "/static/js/main.js"} {
		t.Run(p, func(t *testing.T) {
			r := e.send(c, req{method: "GET", path: p, host: "app.example"})
			if v := r.header.Get("Strict-Transport-Security"); !strings.Contains(v, "max-age=") {
				t.Errorf("HSTS = %q, want max-age", v)
			}
		})
	}
}

func TestCase67_DemoConsentPageHeaders(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{demo: true})
	c := e.newClient()
	r := e.send(c, req{method: "GET", path: "/auth"})
	mustStatus(t, "auth", r, http.StatusFound)
	r = e.send(c, req{method: "GET", path: r.header.Get("Location")})
	mustStatus(t, "authorize", r, http.StatusFound)
	r = e.send(c, req{method: "GET", path: mustResolve(t, e.url+"/_sim/", r.header.Get("Location"))})
	mustStatus(t, "consent", r, http.StatusOK)
	d := cspDirectives(r.header.Get("Content-Security-Policy"))
	if got := d["frame-ancestors"]; len(got) != 1 || got[0] != "'none'" {
		t.Errorf("consent page frame-ancestors = %v", got)
	}
	script, ok := d["script-src"]
	if !ok {
		script = d["default-src"]
	}
	for _, s := range script {
		if s != "'none'" && s != "'self'" {
			t.Errorf("consent page script source %s", s)
		}
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("consent page without nosniff")
	}
}
