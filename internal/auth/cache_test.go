package auth

import (
	"net/http"
	"net/url"
	"testing"
)

// The cache's bound (DefaultCacheTTL): a sign-out takes effect at once on
// the instance that did it, and on another instance once DefaultCacheTTL has
// passed since that instance last read the session. Time is the fake clock's.
func TestCacheBoundAcrossInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{instances: 2})
	a, b := e.inst[0], e.inst[1]
	br := e.newBrowser()
	br.signIn(a, e.users()[0].ID)
	// Both instances have read (and cached) the session and the token.
	for _, in := range []*instance{a, b} {
		if r := br.ping(in); r.status != 200 {
			t.Fatalf("ping = %d %q", r.status, r.body)
		}
	}
	name := a.a.SessionCookieName()
	cookie := br.cookie(a, name)
	if cookie == "" {
		t.Fatal("no session cookie")
	}
	if r := br.post(a.url+"/api/auth/logout", nil); r.status != 200 {
		t.Fatalf("logout = %d %q", r.status, r.body)
	}
	// The jar lost the cookie; replay it as a stolen copy would (a fresh
	// browser each time: a refusal clears the cookie).
	u, _ := url.Parse(a.url)
	stolen := func() *browser {
		sb := e.newBrowser()
		sb.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: cookie, Path: "/"}})
		return sb
	}
	if s := stolen().status(a); s.Authenticated {
		t.Errorf("instance that signed out still accepts the session")
	}
	if s := stolen().status(b); !s.Authenticated {
		t.Errorf("other instance dropped the session before its cache bound; the bound is what this test states")
	}
	e.clock.Advance(DefaultCacheTTL)
	if s := stolen().status(b); s.Authenticated {
		t.Errorf("other instance still accepts the session after DefaultCacheTTL")
	}
}

// Catalog case 27 with a warm cache: a row copied from another user over
// Bob's is never opened as Bob's. Until the bound Bob keeps his own cached
// token; after it the copied row fails to open and Bob must sign in again.
// Alice's token is never used for Bob.
func TestCase27_CopiedRowWithWarmCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	alice, bob := e.newBrowser(), e.newBrowser()
	alice.signIn(in, e.users()[0].ID)
	bob.signIn(in, e.users()[1].ID)
	for _, br := range []*browser{alice, bob} {
		if r := br.ping(in); r.status != 200 {
			t.Fatalf("ping = %d %q", r.status, r.body)
		}
	}
	aliceRow, err := in.st.TokensByUser(t.Context(), alice.status(in).User.ID)
	if err != nil {
		t.Fatal(err)
	}
	bobID := bob.status(in).User.ID
	copied := aliceRow
	copied.UserID = bobID
	if err := in.st.PutTokens(t.Context(), copied); err != nil {
		t.Fatal(err)
	}
	if r := bob.ping(in); r.status != 200 || r.body != e.users()[1].ID {
		t.Errorf("ping within the bound = %d %q, want Bob's own id %q", r.status, r.body, e.users()[1].ID)
	}
	e.clock.Advance(DefaultCacheTTL)
	if r := bob.ping(in); r.status != 401 || r.body != "reauth_required" {
		t.Errorf("ping after the bound = %d %q, want 401 reauth_required", r.status, r.body)
	}
	if r := alice.ping(in); r.status != 200 || r.body != e.users()[0].ID {
		t.Errorf("alice ping = %d %q", r.status, r.body)
	}
}
