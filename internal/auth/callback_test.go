package auth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// Group A of the security catalog, continued: redirect_uri, open redirect,
// error redirects and exchange failures (cases 9–12).

// Case 9: redirect_uri from config only, whatever Host / X-Forwarded-* say.
func TestRedirectURIComesFromConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	b := e.newBrowser()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", in.url+"/auth", nil)
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "http")
	r := b.do(req)
	// The jar files cookies under req.Host; a browser would file them under
	// the URL it loaded, so copy them there.
	b.c.Jar.SetCookies(mustURL(t, in.url), (&http.Response{Header: r.header}).Cookies())
	want := in.url + "/callback"
	if got := mustQuery(t, r.loc, "redirect_uri"); got != want {
		t.Errorf("authorize redirect_uri = %q, want %q", got, want)
	}
	if !strings.Contains(r.loc, "redirect_uri="+url.QueryEscape(want)) {
		t.Errorf("redirect_uri not URL-encoded in %s", r.loc)
	}
	if strings.Contains(r.loc, testSecret) {
		t.Errorf("client secret in the authorize URL")
	}
	b.signIn2(in, r.loc, e.users()[0].ID)
	if got := tokenRequestBody(t, e, "authorization_code")["redirect_uri"]; got != want {
		t.Errorf("token request redirect_uri = %q, want %q", got, want)
	}
}

// Case 10: open redirect and path injection through return_to and workspace_id.
func TestReturnToCannotRedirectOffSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	tests := []struct{ name, returnTo, want string }{
		{"plain path", "/chat?bot=1#x", "/chat?bot=1#x"},
		{"protocol relative", "//evil.example", "/"},
		{"backslash", `/\evil.example`, "/"},
		{"encoded tab", "/%09/evil.example", "/"},
		{"encoded slash", "/%2F/evil.example", "/"},
		{"tab", "/\t/evil.example", "/"},
		{"absolute", "https://evil.example", "/"},
		{"javascript", "javascript:alert(1)", "/"},
		{"data", "data:text/html,x", "/"},
		{"crlf", "/%0d%0aSet-Cookie:x=1", "/"},
		{"raw crlf", "/\r\nSet-Cookie: x=1", "/"},
		{"8 KB", "/" + strings.Repeat("a", 8<<10), "/"},
		{"empty", "", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.newBrowser()
			authz := b.begin(in, "return_to="+url.QueryEscape(tt.returnTo))
			r := b.get(b.consent(authz, e.users()[0].ID, "approve"))
			if r.status != http.StatusFound || r.loc != tt.want {
				t.Errorf("callback Location = %d %q, want %q", r.status, r.loc, tt.want)
			}
			lu, err := url.Parse(r.loc)
			if err != nil || lu.Host != "" || lu.Scheme != "" {
				t.Errorf("Location %q leaves the origin", r.loc)
			}
			if len(r.header.Values("Set-Cookie")) > 2 {
				t.Errorf("unexpected cookies: %v", r.header.Values("Set-Cookie"))
			}
		})
	}
	for _, ws := range []string{"../../x", "%2F", "12a", strings.Repeat("1", 31), strings.Repeat("9", 1_000_000)} {
		req := httptest.NewRequest("GET", "/auth", nil)
		w := httptest.NewRecorder()
		if _, err := in.a.BeginSignIn(t.Context(), w, req, "/", ws); err != ErrBadWorkspace {
			t.Errorf("workspace %.12q: err = %v, want ErrBadWorkspace", ws, err)
		}
	}
	b := e.newBrowser()
	if r := b.get(in.url + "/auth?workspace_id=..%2F..%2Fx"); r.status != 400 {
		t.Errorf("/auth bad workspace = %d, want 400", r.status)
	}
	ws := e.sim.PersonalWorkspace(e.users()[0].ID)
	authz := b.begin(in, "workspace_id="+ws)
	if !strings.Contains(authz, "/workspace_id/"+ws+"/authorize") {
		t.Errorf("workspace authorize URL = %s", authz)
	}
}

// Case 11: consent denied and error redirects: no token call, state consumed.
func TestDeniedConsentSignsNobodyIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	tests := []struct {
		name, want string
		mangle     func(cb string) string
	}{
		{"denied", "consent_denied", func(cb string) string { return cb }},
		{"html description", "consent_denied", func(cb string) string {
			return withQuery(cb, map[string]string{"error_description": "<img src=x onerror=alert(1)>"})
		}},
		{"neither code nor error", "state_invalid", func(cb string) string {
			return withQuery(cb, map[string]string{"error": "\x00delete", "error_description": "\x00delete"})
		}},
		{"code and error", "consent_denied", func(cb string) string {
			return withQuery(cb, map[string]string{"code": "code_x"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.newBrowser()
			cb := tt.mangle(b.consent(b.begin(in, ""), e.users()[0].ID, "deny"))
			r := b.get(cb)
			if r.status != 400 || r.body != tt.want {
				t.Errorf("callback = %d %q, want 400 %s", r.status, r.body, tt.want)
			}
			if strings.Contains(r.body, "<img") {
				t.Errorf("error text echoed")
			}
			if r := b.get(cb); r.body != "state_invalid" {
				t.Errorf("second use = %q, want state_invalid (consumed)", r.body)
			}
		})
	}
	if n := e.codeCalls(); n != 0 {
		t.Errorf("code exchanges = %d, want 0", n)
	}
}

// Case 12: code-exchange failures → friendly error, nothing stored, no
// session; expires_in read as absolute Unix time.
func TestFailedCodeExchangeStoresNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{cozeTO: 500 * time.Millisecond})
	in := e.inst[0]
	tests := []struct {
		name  string
		fault cozesim.Fault
	}{
		{"invalid_request", cozesim.Fault{OAuthError: "invalid_request"}},
		{"invalid_client", cozesim.Fault{OAuthError: "invalid_client"}},
		{"500", cozesim.Fault{HTTPStatus: 500}},
		{"stall", cozesim.Fault{StallHeaders: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.newBrowser()
			cb := b.consent(b.begin(in, ""), e.users()[0].ID, "approve")
			tt.fault.Endpoint, tt.fault.Times = tokenEndpoint, 1
			e.sim.AddFault(tt.fault)
			defer e.sim.ClearFaults()
			r := b.get(cb)
			if r.status != 400 || r.body != "exchange_failed" {
				t.Errorf("callback = %d %q, want 400 exchange_failed", r.status, r.body)
			}
			if hasCookie(r.header.Values("Set-Cookie"), in.a.SessionCookieName()) {
				t.Errorf("session cookie set")
			}
		})
	}
	var users int
	if err := in.st.DB().QueryRow(`SELECT COUNT(*) FROM users`).Scan(&users); err != nil || users != 0 {
		t.Errorf("users stored = %d, %v; want 0", users, err)
	}
	t.Run("absolute expires_in", func(t *testing.T) {
		b := e.newBrowser()
		b.signIn(in, e.users()[0].ID)
		s := b.status(in)
		row, err := in.st.TokensByUser(t.Context(), s.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := e.clock.Now().Add(15 * time.Minute)
		if d := row.AccessExpiresAt.Sub(want); d < -2*time.Second || d > 2*time.Second {
			t.Errorf("stored expiry = %v, want ≈ %v", row.AccessExpiresAt, want)
		}
	})
}
