package app

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store/storetest"
)

// A web app (COZE_CLIENT_SECRET set) against a Coze that refuses PKCE from
// web apps (coze-protocol E1): with COZE_PKCE unset (auto) sign-in works and
// sends no challenge; COZE_PKCE=on is refused at the authorize step.
func TestWebAppSignInWithoutPKCEByDefault(t *testing.T) {
	tests := []struct {
		pkce         string
		wantSignedIn bool
	}{
		{"", true},
		{"auto", true},
		{"on", false},
	}
	for _, tt := range tests {
		t.Run("COZE_PKCE="+tt.pkce, func(t *testing.T) {
			addr := freeAddr(t)
			sim, srv := externalSim(t, "http://"+addr+"/callback", cozesim.Options{RefusePKCEForWebApps: true})
			env := realModeEnv(srv.URL, addr, storetest.SQLiteURL(t))
			env["COZE_PKCE"] = tt.pkce
			a := mustStart(t, env)
			c := newBrowser(t)
			if !tt.wantSignedIn {
				authz := mustRedirect(t, c, "GET", a.URL+"/auth", nil)
				if !strings.Contains(authz, "code_challenge=") {
					t.Fatalf("COZE_PKCE=on: authorize URL without code_challenge: %s", authz)
				}
				res, err := c.Get(authz)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusBadRequest {
					t.Errorf("authorize = %d, want the simulator's 400:\n%s", res.StatusCode, body)
				}
				return
			}
			signIn(t, c, a.URL, cozesim.UserChen)
			var st status
			if getJSON(t, c, a.URL+"/api/auth/status", &st); !st.Authenticated {
				t.Fatal("not signed in")
			}
			for _, r := range sim.Requests() {
				if r.Query.Has("code_challenge") {
					t.Errorf("%s %s sent code_challenge", r.Method, r.Path)
				}
				if r.Path == "/api/permission/oauth2/token" && strings.Contains(string(r.Body), "code_verifier") {
					t.Errorf("token request sent code_verifier: %s", r.Body)
				}
			}
		})
	}
}
