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
