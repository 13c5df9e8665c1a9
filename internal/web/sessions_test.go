package web

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store"
)

// Catalog case 78 (issue 8 item 8): "Sign out everywhere" ends every
// session of the person and deletes their tokens; other people keep theirs.
func TestCase78_SignOutEverywhere(t *testing.T) {
	e := newTestEnv(t, envOpts{})
	laptop := signIn(t, e, cozesim.UserAlan)
	phone := signIn(t, e, cozesim.UserAlan)
	other := signIn(t, e, cozesim.UserBea)
	alanID := e.world.User(t, cozesim.UserAlan).ID

	r := e.api(laptop, "POST", "/api/auth/logout-everywhere", map[string]any{})
	mustStatus(t, "sign out everywhere", r, http.StatusOK)
	for name, c := range map[string]*http.Client{"laptop": laptop, "phone": phone} {
		if st := decode[statusJSON](t, e.get(c, "/api/auth/status")); st.Authenticated {
			t.Errorf("%s still signed in", name)
		}
	}
	if _, err := e.st.TokensByUser(t.Context(), alanID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tokens after sign out everywhere: %v, want none", err)
	}
	if st := decode[statusJSON](t, e.get(other, "/api/auth/status")); !st.Authenticated {
		t.Error("another person was signed out")
	}
	// It needs a session, and the cross-origin guard applies like any POST.
	mustStatus(t, "signed out already", e.api(laptop, "POST", "/api/auth/logout-everywhere", map[string]any{}), http.StatusUnauthorized)
	r = e.send(other, req{method: "POST", path: "/api/auth/logout-everywhere", hdr: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	mustStatus(t, "cross-site", r, http.StatusForbidden)
}

// Catalog case 78: a stolen cookie stops working on history reads once the
// person revoked the app at Coze: the grant is confirmed every few minutes.
func TestCase78_GrantCheckedOnHistoryReads(t *testing.T) {
	t.Run("revoked", func(t *testing.T) {
		e := newTestEnv(t, envOpts{auth: func(o *auth.Options) { o.GrantCheckEvery = time.Nanosecond }})
		c := signIn(t, e, cozesim.UserAlan)
		res := mustChat(t, e, c, cozesim.BotAssistant, "history", "")
		mustStatus(t, "history before", e.get(c, "/api/conversations"), http.StatusOK)
		e.sim.RevokeGrant(cozesim.UserAlan)
		for _, p := range []string{"/api/conversations", "/api/conversations/" + res.ConversationID + "/messages", "/api/conversations/" + res.ConversationID + "/export"} {
			r := e.get(c, p)
			if r.status != http.StatusUnauthorized {
				t.Errorf("GET %s after the grant was revoked = %d, want 401", p, r.status)
			}
		}
		if st := decode[statusJSON](t, e.get(c, "/api/auth/status")); st.Authenticated {
			t.Error("the session outlived the revoked grant")
		}
	})
	t.Run("at most once per interval", func(t *testing.T) {
		e, c := alanSignedIn(t)
		before := e.sim.Calls("GET /v1/users/me")
		for range 5 {
			mustStatus(t, "history", e.get(c, "/api/conversations"), http.StatusOK)
		}
		if n := e.sim.Calls("GET /v1/users/me") - before; n != 0 {
			t.Errorf("%d grant checks right after sign-in, want 0 (the sign-in confirmed it)", n)
		}
	})
	t.Run("Coze unreachable", func(t *testing.T) {
		e := newTestEnv(t, envOpts{auth: func(o *auth.Options) { o.GrantCheckEvery = time.Nanosecond }})
		c := signIn(t, e, cozesim.UserAlan)
		e.sim.AddFault(cozesim.Fault{Endpoint: "GET /v1/users/me", HTTPStatus: http.StatusBadGateway})
		mustStatus(t, "history while Coze is down", e.get(c, "/api/conversations"), http.StatusOK)
	})
}
