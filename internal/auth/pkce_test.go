package auth

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

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
