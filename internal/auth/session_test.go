package auth

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Group B of the security catalog at the auth level: fixation, cookie
// attributes, hashed secrets, idle/absolute expiry, server-side logout,
// cross-user cookies. Case 19 (GET logout guard) and the route-level IDOR
// part of case 20 belong to the web layer.

// Case 14: every sign-in issues a new session and kills the previous one; a
// planted cookie is never adopted.
func TestSignInReplacesTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	b := e.newBrowser()
	name := in.a.SessionCookieName()
	planted := "AAAAAAAAAAAAAAAAAAAAAAAAAA." + strings.Repeat("A", 43)
	b.c.Jar.SetCookies(mustURL(t, in.url), []*http.Cookie{{Name: name, Value: planted, Path: "/"}})

	b.signIn(in, e.users()[0].ID)
	first := b.cookie(in, name)
	if first == planted || first == "" {
		t.Fatalf("planted cookie adopted or no cookie: %q", first)
	}
	id1, _, _ := strings.Cut(first, ".")

	b.signIn(in, e.users()[0].ID) // again, same user
	second := b.cookie(in, name)
	id2, _, _ := strings.Cut(second, ".")
	if id2 == id1 {
		t.Errorf("re-login kept the session id")
	}
	if _, err := in.st.SessionByID(t.Context(), id1); err == nil {
		t.Errorf("old session row survives re-login")
	}

	b.signIn(in, e.users()[1].ID) // another Coze user in the same browser
	third := b.cookie(in, name)
	id3, _, _ := strings.Cut(third, ".")
	if _, err := in.st.SessionByID(t.Context(), id2); err == nil {
		t.Errorf("previous user's session survives")
	}
	s3, err := in.st.SessionByID(t.Context(), id3)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.status(in); got.User.ID != s3.UserID || got.User.CozeID != e.users()[1].ID {
		t.Errorf("status user = %+v, want the second Coze user", got.User)
	}
	if r := b.ping(in); r.body != e.users()[1].ID {
		t.Errorf("ping as %q, want %q (tokens of one user only)", r.body, e.users()[1].ID)
	}
}

// Case 15: cookie attributes over http and https.
func TestSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tls], func(t *testing.T) {
			e := newEnv(t, envOpts{tls: tls})
			in := e.inst[0]
			b := e.newBrowser()
			r := b.get(in.url + "/auth")
			bind := findCookie(t, r.header, in.a.BindingCookieName())
			cb := b.consent(r.loc, e.users()[0].ID, "approve")
			r = b.get(cb)
			sess := findCookie(t, r.header, in.a.SessionCookieName())
			for _, c := range []*http.Cookie{bind, sess} {
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
					t.Errorf("%s: HttpOnly=%v SameSite=%v Path=%q Domain=%q", c.Name, c.HttpOnly, c.SameSite, c.Path, c.Domain)
				}
				if c.Secure != tls || strings.HasPrefix(c.Name, "__Host-") != tls {
					t.Errorf("%s: Secure=%v, want %v with the __Host- prefix", c.Name, c.Secure, tls)
				}
				if len(c.Name)+len(c.Value) > 4096 {
					t.Errorf("%s too long", c.Name)
				}
			}
			if bind.MaxAge <= 0 || bind.MaxAge > 15*60 {
				t.Errorf("binding cookie Max-Age = %d, want minutes", bind.MaxAge)
			}
			id, secret, ok := strings.Cut(sess.Value, ".")
			if !ok || len(id) != 26 || len(secret) != 43 {
				t.Errorf("session cookie %q is not id.secret with a 256-bit secret", sess.Value)
			}
			if s := b.status(in); !s.Authenticated {
				t.Errorf("not authenticated after sign-in")
			}
		})
	}
}

func findCookie(tb testing.TB, h http.Header, name string) *http.Cookie {
	tb.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	tb.Fatalf("no Set-Cookie %s in %v", name, h.Values("Set-Cookie"))
	return nil
}

// Case 16: the database keeps only sha256(secret); a wrong secret fails;
// neither id nor secret reaches a URL or a log.
func TestSessionSecretsStoredHashed(t *testing.T) {
	t.Parallel()
	e, in, b := signedInEnv(t, envOpts{})
	name := in.a.SessionCookieName()
	v := b.cookie(in, name)
	id, secret, _ := strings.Cut(v, ".")
	row, err := in.st.SessionByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(secret)); string(row.SecretHash) != string(sum[:]) {
		t.Errorf("stored hash is not sha256(secret)")
	}
	wrong := []byte(secret)
	wrong[0] ^= 1
	if wrong[0] == '.' {
		wrong[0] = 'B'
	}
	other := e.newBrowser()
	other.c.Jar.SetCookies(mustURL(t, in.url), []*http.Cookie{{Name: name, Value: id + "." + string(wrong), Path: "/"}})
	if s := other.status(in); s.Authenticated {
		t.Errorf("wrong secret accepted")
	}
	if r := other.ping(in); r.status != 401 {
		t.Errorf("ping with wrong secret = %d, want 401", r.status)
	}
	if _, err := in.st.SessionByID(t.Context(), id); err != nil {
		t.Errorf("a wrong secret must not delete the real session: %v", err)
	}
	logs := e.logs.String()
	if strings.Contains(logs, secret) || strings.Contains(logs, id) {
		t.Errorf("session id or secret logged")
	}
	for _, req := range e.sim.Requests() {
		if strings.Contains(req.Query.Encode(), secret) {
			t.Errorf("session secret in a URL")
		}
	}
}

// Case 16 also: two cookies of the session name make the request anonymous.
func TestDuplicateSessionCookiesRefused(t *testing.T) {
	t.Parallel()
	e, in, b := signedInEnv(t, envOpts{})
	name := in.a.SessionCookieName()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", in.url+"/api/auth/status", nil)
	v := b.cookie(in, name)
	req.Header.Set("Cookie", name+"="+v+"; "+name+"="+v)
	r := (&browser{t: t, c: http.DefaultClient, env: e}).do(req)
	if !strings.Contains(r.body, `"authenticated":false`) {
		t.Errorf("duplicate cookies authenticated: %s", r.body)
	}
}

// Case 17: idle and absolute expiry (fake clock): unauthenticated, cookie
// cleared, row deleted, no refresh attempted.
func TestSessionIdleAndAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		e, in, b := signedInEnv(t, envOpts{})
		id := b.sessionID(in)
		e.clock.Advance(7*24*time.Hour + time.Minute)
		r := b.ping(in)
		if r.status != 401 || r.body != "unauthenticated" {
			t.Errorf("ping = %d %q, want 401 unauthenticated", r.status, r.body)
		}
		if c := findCookie(t, r.header, in.a.SessionCookieName()); c.MaxAge >= 0 {
			t.Errorf("cookie not cleared: Max-Age %d", c.MaxAge)
		}
		if _, err := in.st.SessionByID(t.Context(), id); err == nil {
			t.Errorf("expired session row kept")
		}
		e.wantRefreshes(t, 0, "refreshes")
	})
	t.Run("absolute", func(t *testing.T) {
		e, in, b := signedInEnv(t, envOpts{})
		// Active every 6 days (never idle) up to 30 days minus a minute.
		day := 24 * time.Hour
		for _, step := range []time.Duration{6 * day, 6 * day, 6 * day, 6 * day, 6*day - time.Minute} {
			e.clock.Advance(step)
			if s := b.status(in); !s.Authenticated {
				t.Fatalf("session ended before its absolute lifetime at %v", e.clock.Now())
			}
		}
		e.clock.Advance(2 * time.Minute)
		if s := b.status(in); s.Authenticated {
			t.Errorf("session alive past 30 days")
		}
		e.wantRefreshes(t, 0, "refreshes")
	})
	t.Run("touch once a minute", func(t *testing.T) {
		e, in, b := signedInEnv(t, envOpts{})
		id := b.sessionID(in)
		start := e.clock.Now()
		e.clock.Advance(30 * time.Second)
		b.status(in)
		if s, _ := in.st.SessionByID(t.Context(), id); !s.LastSeenAt.Equal(start) {
			t.Errorf("last_seen written after 30 s: %v", s.LastSeenAt)
		}
		e.clock.Advance(31 * time.Second)
		b.status(in)
		if s, _ := in.st.SessionByID(t.Context(), id); !s.LastSeenAt.Equal(e.clock.Now()) {
			t.Errorf("last_seen = %v, want %v", s.LastSeenAt, e.clock.Now())
		}
	})
}

// Case 18: logout ends the session server-side; the last session takes the
// Coze tokens with it; other devices keep theirs.
func TestLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	laptop, phone := e.newBrowser(), e.newBrowser()
	laptop.signIn(in, e.users()[0].ID)
	phone.signIn(in, e.users()[0].ID)
	uid := laptop.status(in).User.ID
	old := laptop.cookie(in, in.a.SessionCookieName())

	if r := laptop.post(in.url+"/api/auth/logout", nil); r.status != 200 {
		t.Fatalf("logout = %d %q", r.status, r.body)
	}
	replay := e.newBrowser()
	replay.c.Jar.SetCookies(mustURL(t, in.url), []*http.Cookie{{Name: in.a.SessionCookieName(), Value: old, Path: "/"}})
	if r := replay.ping(in); r.status != 401 {
		t.Errorf("replayed cookie ping = %d, want 401", r.status)
	}
	if r := phone.ping(in); r.status != 200 {
		t.Errorf("other device ping = %d %q, want 200", r.status, r.body)
	}
	if _, err := in.st.TokensByUser(t.Context(), uid); err != nil {
		t.Errorf("tokens deleted while another session lives: %v", err)
	}
	if r := phone.post(in.url+"/api/auth/logout", nil); r.status != 200 {
		t.Fatalf("logout = %d", r.status)
	}
	if _, err := in.st.TokensByUser(t.Context(), uid); err == nil {
		t.Errorf("tokens kept after the last session signed out")
	}
	if s := phone.status(in); s.Authenticated {
		t.Errorf("still authenticated after logout")
	}
}

// Case 20 (auth part): user B cannot use A's session id with B's secret,
// and each user's Coze calls use that user's own token.
func TestSessionIDNeedsItsOwnSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	a, b := e.newBrowser(), e.newBrowser()
	a.signIn(in, e.users()[0].ID)
	b.signIn(in, e.users()[1].ID)
	name := in.a.SessionCookieName()
	idA, _, _ := strings.Cut(a.cookie(in, name), ".")
	_, secretB, _ := strings.Cut(b.cookie(in, name), ".")
	mix := e.newBrowser()
	mix.c.Jar.SetCookies(mustURL(t, in.url), []*http.Cookie{{Name: name, Value: idA + "." + secretB, Path: "/"}})
	if s := mix.status(in); s.Authenticated {
		t.Errorf("A's id with B's secret authenticated")
	}
	if r := a.ping(in); r.body != e.users()[0].ID {
		t.Errorf("A pings as %q", r.body)
	}
	if r := b.ping(in); r.body != e.users()[1].ID {
		t.Errorf("B pings as %q", r.body)
	}
}

// SweepExpired removes expired pending sign-ins and sessions.
func TestSweepExpired(t *testing.T) {
	t.Parallel()
	e, in, b := signedInEnv(t, envOpts{})
	uid := b.status(in).User.ID
	e.newBrowser().begin(in, "")
	e.clock.Advance(11 * time.Minute)
	if err := in.a.SweepExpired(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, _ := in.st.CountPendingSignIns(t.Context()); n != 0 {
		t.Errorf("pending after sweep = %d, want 0", n)
	}
	if s, _ := in.st.UserSessions(t.Context(), uid); len(s) != 1 {
		t.Errorf("live session swept")
	}
	e.clock.Advance(8 * 24 * time.Hour)
	if err := in.a.SweepExpired(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s, _ := in.st.UserSessions(t.Context(), uid); len(s) != 0 {
		t.Errorf("idle session kept: %d", len(s))
	}
}
