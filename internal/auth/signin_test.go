package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Group A of the security catalog: OAuth state, PKCE, code replay,
// redirect_uri, open redirect, error redirects. Case 13 (the simulator is
// unreachable in real mode) belongs to the app layer and is not tested here.

func withQuery(u string, set map[string]string) string {
	pu, _ := url.Parse(u)
	q := pu.Query()
	for k, v := range set {
		if v == "\x00delete" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	pu.RawQuery = q.Encode()
	return pu.String()
}

// Case 1: wrong, missing or junk state → 400, no session cookie, 0 token calls.
func TestCallbackWithBadStateRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	b := e.newBrowser()
	cb := b.consent(b.begin(in, ""), e.users()[0].ID, "approve")
	state := mustQuery(t, cb, "state")
	// Another letter, never the same one (an 'A' flipped to '@' and back to 'A'
	// once made the "changed" state equal the real one).
	flipped := []byte(state)
	if flipped[3] == 'A' {
		flipped[3] = 'B'
	} else {
		flipped[3] = 'A'
	}
	tests := []struct {
		name string
		url  string
	}{
		{"missing", withQuery(cb, map[string]string{"state": "\x00delete"})},
		{"one char changed", withQuery(cb, map[string]string{"state": string(flipped)})},
		{"10 KB junk", withQuery(cb, map[string]string{"state": strings.Repeat("x", 10<<10)})},
		{"state twice", cb + "&state=" + state},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.get(tt.url)
			if r.status != 400 || r.body != "state_invalid" {
				t.Errorf("callback = %d %q, want 400 state_invalid", r.status, r.body)
			}
			if sc := r.header.Values("Set-Cookie"); hasCookie(sc, in.a.SessionCookieName()) {
				t.Errorf("session cookie set: %v", sc)
			}
		})
	}
	if n := e.codeCalls(); n != 0 {
		t.Errorf("token endpoint calls = %d, want 0", n)
	}
	// The real state is still usable: the bad callbacks consumed nothing.
	if r := b.get(cb); r.status != http.StatusFound {
		t.Errorf("real callback = %d %q, want 302", r.status, r.body)
	}
}

// Case 2: a replayed callback → 400, session untouched, no second exchange.
func TestReplayedCallbackRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	b := e.newBrowser()
	cb := b.consent(b.begin(in, ""), e.users()[0].ID, "approve")
	if r := b.get(cb); r.status != http.StatusFound {
		t.Fatalf("first callback = %d %q", r.status, r.body)
	}
	before := b.cookie(in, in.a.SessionCookieName())
	r := b.get(cb)
	if r.status != 400 || r.body != "state_invalid" {
		t.Errorf("replay = %d %q, want 400 state_invalid", r.status, r.body)
	}
	if n := e.codeCalls(); n != 1 {
		t.Errorf("code exchanges = %d, want 1", n)
	}
	if got := b.cookie(in, in.a.SessionCookieName()); got != before {
		t.Errorf("session cookie changed by the replay")
	}
	if s := b.status(in); !s.Authenticated {
		t.Errorf("session lost after replay")
	}
}

// Case 3: the pending sign-in expires → 400 state_expired, row gone.
func TestExpiredSignInRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	b := e.newBrowser()
	cb := b.consent(b.begin(in, ""), e.users()[0].ID, "approve")
	e.clock.Advance(10*time.Minute + time.Second)
	r := b.get(cb)
	if r.status != 400 || r.body != "state_expired" {
		t.Errorf("callback = %d %q, want 400 state_expired", r.status, r.body)
	}
	if n, err := in.st.CountPendingSignIns(t.Context()); err != nil || n != 0 {
		t.Errorf("pending sign-ins = %d, %v; want 0", n, err)
	}
	if n := e.codeCalls(); n != 0 {
		t.Errorf("code exchanges = %d, want 0", n)
	}
}

// Case 4: state bound to the browser (login CSRF); states unique, 128+ bits.
func TestStateBoundToItsBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	attacker, victim := e.newBrowser(), e.newBrowser()
	cb := attacker.consent(attacker.begin(in, ""), e.users()[1].ID, "approve")
	victim.begin(in, "") // the victim has a binding cookie of its own
	r := victim.get(cb)
	if r.status != 400 || r.body != "state_invalid" {
		t.Errorf("victim callback = %d %q, want 400 state_invalid", r.status, r.body)
	}
	if s := victim.status(in); s.Authenticated {
		t.Errorf("victim signed in as the attacker")
	}
	if n := e.codeCalls(); n != 0 {
		t.Errorf("code exchanges = %d, want 0", n)
	}

	t.Run("states", func(t *testing.T) {
		const n = 300 // each one a real BeginSignIn with its database row
		seen := map[string]bool{}
		re := regexp.MustCompile(`^[A-Z2-7]{26}$`) // rand.Text: 130 bits
		for i := range n {
			req := httptest.NewRequest("GET", "/auth", nil)
			w := httptest.NewRecorder()
			u, err := in.a.BeginSignIn(t.Context(), w, req, "/x", "")
			if err != nil {
				t.Fatal(err)
			}
			st := mustQuery(t, u, "state")
			if !re.MatchString(st) || seen[st] {
				t.Fatalf("state %d = %q: malformed or repeated", i, st)
			}
			seen[st] = true
		}
	})
}

// Case 5: two sign-ins in one browser, finished in both orders.
func TestTwoTabsSignInBoth(t *testing.T) {
	t.Parallel()
	for _, order := range []string{"first-first", "second-first"} {
		t.Run(order, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			in := e.inst[0]
			b := e.newBrowser()
			a1 := b.begin(in, "return_to=/one")
			a2 := b.begin(in, "return_to=/two")
			cb1 := b.consent(a1, e.users()[0].ID, "approve")
			cb2 := b.consent(a2, e.users()[0].ID, "approve")
			first, second, want1, want2 := cb1, cb2, "/one", "/two"
			if order == "second-first" {
				first, second, want1, want2 = cb2, cb1, "/two", "/one"
			}
			if r := b.get(first); r.status != http.StatusFound || r.loc != want1 {
				t.Fatalf("first callback = %d %q %q", r.status, r.loc, r.body)
			}
			if b.cookie(in, in.a.BindingCookieName()) == "" {
				t.Errorf("binding cookie cleared while another sign-in is pending")
			}
			if r := b.get(second); r.status != http.StatusFound || r.loc != want2 {
				t.Fatalf("second callback = %d %q %q", r.status, r.loc, r.body)
			}
			if b.cookie(in, in.a.BindingCookieName()) != "" {
				t.Errorf("binding cookie kept after the last sign-in")
			}
			s := b.status(in)
			sess, err := in.st.UserSessions(t.Context(), s.User.ID)
			if err != nil || len(sess) != 1 {
				t.Errorf("sessions = %d, %v; want exactly 1", len(sess), err)
			}
		})
	}
}

// Case 6: whenever PKCE is used it is S256; verifier 43 unreserved chars,
// only on the server. Since coze-protocol E1 a web app (client secret) uses
// PKCE only when forced on (COZE_PKCE=on); a public client always does.
func TestPKCEVerifierOnlyOnTheServer(t *testing.T) {
	t.Parallel()
	if got, want := coze.PKCEChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; got != want {
		t.Errorf("RFC 7636 vector: %q, want %q", got, want)
	}
	for _, public := range []bool{false, true} {
		t.Run(map[bool]string{false: "web forced on", true: "public"}[public], func(t *testing.T) {
			o := envOpts{public: public}
			if !public {
				o.pkce = PKCEOn
			}
			e := newEnv(t, o)
			in := e.inst[0]
			b := e.newBrowser()
			authz := b.begin(in, "")
			if m := mustQuery(t, authz, "code_challenge_method"); m != "S256" {
				t.Errorf("code_challenge_method = %q, want S256", m)
			}
			challenge := mustQuery(t, authz, "code_challenge")
			b.signIn2(in, authz, e.users()[0].ID)
			body := tokenRequestBody(t, e, "authorization_code")
			v := body["code_verifier"]
			if !regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`).MatchString(v) {
				t.Errorf("verifier %q is not 43–128 unreserved chars", v)
			}
			sum := sha256.Sum256([]byte(v))
			if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != challenge {
				t.Errorf("challenge = %q, want S256(verifier) %q", challenge, got)
			}
			if strings.Contains(authz, v) || strings.Contains(e.logs.String(), v) {
				t.Errorf("verifier leaked into the authorize URL or logs")
			}
			for _, c := range b.c.Jar.Cookies(mustURL(t, in.url)) {
				if strings.Contains(c.Value, v) {
					t.Errorf("verifier in cookie %s", c.Name)
				}
			}
		})
	}
}

// signIn2 finishes a sign-in whose authorize URL the caller already has.
func (b *browser) signIn2(in *instance, authz, userID string) {
	b.t.Helper()
	if r := b.get(b.consent(authz, userID, "approve")); r.status != http.StatusFound {
		b.t.Fatalf("callback = %d %q", r.status, r.body)
	}
}

// Case 7: a code minted for P1 delivered with P2's state fails (verifier).
// It needs PKCE, which a web app uses only when forced on (coze-protocol E1).
func TestInjectedCodeRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{pkce: PKCEOn})
	in := e.inst[0]
	b := e.newBrowser()
	a1, a2 := b.begin(in, ""), b.begin(in, "")
	cb1 := b.consent(a1, e.users()[0].ID, "approve")
	cb2 := b.consent(a2, e.users()[0].ID, "approve")
	mixed := withQuery(cb1, map[string]string{"state": mustQuery(t, cb2, "state")})
	r := b.get(mixed)
	if r.status != 400 || r.body != "exchange_failed" {
		t.Errorf("mixed callback = %d %q, want 400 exchange_failed", r.status, r.body)
	}
	if hasCookie(r.header.Values("Set-Cookie"), in.a.SessionCookieName()) {
		t.Errorf("session cookie set")
	}
	if r := b.get(cb2); r.status != 400 || r.body != "state_invalid" {
		t.Errorf("P2 after injection = %d %q, want 400 state_invalid (consumed)", r.status, r.body)
	}
}

// Case 8: public client (no secret) signs in and refreshes; with PKCE off,
// state alone still blocks cases 1–4.
func TestPublicClientAndPKCEOff(t *testing.T) {
	t.Parallel()
	t.Run("public", func(t *testing.T) {
		e, in, b := signedInEnv(t, envOpts{public: true})
		e.clock.Advance(15 * time.Minute)
		b.mustPing(in, 200, "ping after expiry")
		e.wantRefreshes(t, 1, "refreshes")
		for _, req := range e.sim.Requests() {
			if req.Path == "/api/permission/oauth2/token" && strings.TrimSpace(strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer")) != "" {
				t.Errorf("public client sent a client secret")
			}
		}
		if tokenRequestBody(t, e, "authorization_code")["code_verifier"] == "" {
			t.Errorf("no code_verifier sent")
		}
	})
	t.Run("pkce off", func(t *testing.T) {
		e := newEnv(t, envOpts{pkce: PKCEOff})
		in := e.inst[0]
		attacker, victim := e.newBrowser(), e.newBrowser()
		authz := attacker.begin(in, "")
		if strings.Contains(authz, "code_challenge") {
			t.Errorf("authorize URL has PKCE params with PKCE off: %s", authz)
		}
		cb := attacker.consent(authz, e.users()[0].ID, "approve")
		if r := attacker.get(withQuery(cb, map[string]string{"state": "\x00delete"})); r.status != 400 {
			t.Errorf("missing state = %d, want 400", r.status)
		}
		if r := victim.get(cb); r.status != 400 {
			t.Errorf("foreign browser = %d, want 400", r.status)
		}
		if n := e.codeCalls(); n != 0 {
			t.Errorf("code exchanges = %d, want 0", n)
		}
		cb2 := attacker.consent(attacker.begin(in, ""), e.users()[0].ID, "approve")
		e.clock.Advance(11 * time.Minute)
		if r := attacker.get(cb2); r.body != "state_expired" {
			t.Errorf("expired = %d %q, want state_expired", r.status, r.body)
		}
		b := e.newBrowser()
		b.signIn(in, e.users()[0].ID)
	})
}

func mustQuery(tb testing.TB, u, key string) string {
	tb.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		tb.Fatalf("parse %q: %v", u, err)
	}
	return pu.Query().Get(key)
}

func mustURL(tb testing.TB, u string) *url.URL {
	tb.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		tb.Fatal(err)
	}
	return pu
}

func hasCookie(setCookies []string, name string) bool {
	for _, c := range setCookies {
		if strings.HasPrefix(c, name+"=") {
			return true
		}
	}
	return false
}

// tokenRequestBody returns the JSON body of the last token request of grant.
func tokenRequestBody(tb testing.TB, e *testEnv, grant string) map[string]string {
	tb.Helper()
	var last map[string]string
	for _, r := range e.sim.Requests() {
		if r.Path != "/api/permission/oauth2/token" {
			continue
		}
		var m map[string]string
		if json.Unmarshal(r.Body, &m) == nil && m["grant_type"] == grant {
			last = m
		}
	}
	if last == nil {
		tb.Fatalf("no %s token request seen", grant)
	}
	return last
}

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

// A web app (client secret) against a Coze that refuses PKCE from web apps
// (coze-protocol E1): by default it signs in without PKCE; forced on, the
// authorize step refuses it. A public client under the default still sends
// PKCE, which that Coze requires of it.
func TestPKCEModeWithClientSecret(t *testing.T) {
	t.Parallel()
	strict := func(o *cozesim.Options) { o.RefusePKCEForWebApps = true }
	tests := []struct {
		name          string
		public        bool
		pkce          PKCEMode
		wantChallenge bool
		wantSignedIn  bool
	}{
		{"web app, default (auto)", false, "", false, true},
		{"web app, auto", false, PKCEAuto, false, true},
		{"web app, off", false, PKCEOff, false, true},
		{"web app, forced on", false, PKCEOn, true, false},
		{"public client, auto", true, PKCEAuto, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{public: tt.public, pkce: tt.pkce, sim: strict})
			in := e.inst[0]
			if got := in.a.SendsPKCE(); got != tt.wantChallenge {
				t.Errorf("SendsPKCE = %v, want %v", got, tt.wantChallenge)
			}
			b := e.newBrowser()
			authz := b.begin(in, "")
			if got := mustQuery(t, authz, "code_challenge") != ""; got != tt.wantChallenge {
				t.Errorf("authorize URL has code_challenge = %v, want %v: %s", got, tt.wantChallenge, authz)
			}
			if !tt.wantSignedIn {
				r := b.get(authz)
				if r.status != http.StatusBadRequest || !strings.Contains(r.body, "code_challenge") {
					t.Errorf("authorize = %d %q, want the simulator's 400 refusing code_challenge", r.status, r.body)
				}
				return
			}
			b.signIn(in, e.users()[0].ID)
			if !b.status(in).Authenticated {
				t.Fatal("not signed in")
			}
			_, sent := tokenRequestBody(t, e, "authorization_code")["code_verifier"]
			if sent != tt.wantChallenge {
				t.Errorf("token request has code_verifier = %v, want %v", sent, tt.wantChallenge)
			}
		})
	}
}

func TestNewRejectsUnknownPKCEMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	_, err := New(Options{Coze: in.cz, Store: in.st, Sealer: e.sealer, PKCE: "maybe"})
	if err == nil || !strings.Contains(err.Error(), "maybe") {
		t.Errorf("New with PKCE \"maybe\" = %v, want an error naming it", err)
	}
}
