package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Catalog case 75 (issue 8 item 5): COZE2APP_ALLOW admits listed Coze users
// and members of listed workspaces; anyone else gets a clear page, no
// session, and their tokens are not kept. An empty list admits anyone.
func TestCase75_AllowList(t *testing.T) {
	e := newTestEnv(t, envOpts{auth: func(o *auth.Options) {
		o.AllowUsers = []string{cozesim.UserChen}
		o.AllowWorkspaces = []string{cozesim.WorkspaceBea} // Bea's personal space: only Bea is a member
	}})
	for _, tt := range []struct {
		name, user string
		admitted   bool
	}{
		{"listed user", cozesim.UserChen, true},
		{"member of a listed workspace", cozesim.UserBea, true},
		{"neither", cozesim.UserAlan, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := e.newClient()
			r := signInAttempt(t, e, c, tt.user)
			st := decode[statusJSON](t, e.get(c, "/api/auth/status"))
			if tt.admitted {
				mustStatus(t, "callback", r, http.StatusFound)
				if !st.Authenticated {
					t.Fatal("an allowed person is not signed in")
				}
				return
			}
			mustStatus(t, "callback", r, http.StatusForbidden)
			if title := say(langEn, "callback.not_allowed.title", nil); !strings.Contains(string(r.body), title) || !strings.Contains(string(r.body), tt.user) {
				t.Errorf("refusal page = %.400s, want the private-app page naming the user id", r.body)
			}
			if st.Authenticated {
				t.Error("a refused person is signed in")
			}
			for _, ck := range r.header.Values("Set-Cookie") {
				if strings.HasPrefix(ck, e.auth.SessionCookieName()+"=") && !strings.Contains(ck, "Max-Age=0") {
					t.Errorf("refusal set a session cookie: %s", ck)
				}
			}
			var users, sessions, tokens int
			db := e.st.DB()
			_ = db.QueryRowContext(t.Context(), `SELECT count(*) FROM users WHERE coze_user_id = $1`, tt.user).Scan(&users)
			_ = db.QueryRowContext(t.Context(), `SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.coze_user_id = $1`, tt.user).Scan(&sessions)
			_ = db.QueryRowContext(t.Context(), `SELECT count(*) FROM coze_tokens t JOIN users u ON u.id = t.user_id WHERE u.coze_user_id = $1`, tt.user).Scan(&tokens)
			if users+sessions+tokens != 0 {
				t.Errorf("a refused person left rows: users %d, sessions %d, tokens %d", users, sessions, tokens)
			}
		})
	}
}

// An empty allow-list admits anyone with a Coze account.
func TestCase75_EmptyAllowListAdmitsAnyone(t *testing.T) {
	e := newTestEnv(t, envOpts{})
	for _, u := range []string{cozesim.UserAlan, cozesim.UserBea, cozesim.UserChen} {
		signIn(t, e, u)
	}
}
