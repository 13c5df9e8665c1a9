package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store"
)

// Catalog case 78 (issue 8 item 8): a user's sealed Coze tokens die with
// their last session, whether it was signed out, expired on use, or swept.
func TestCase78_TokensDieWithTheLastSession(t *testing.T) {
	t.Parallel()
	tokensOf := func(t *testing.T, in *instance, uid int64) bool {
		t.Helper()
		_, err := in.st.TokensByUser(t.Context(), uid)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	t.Run("swept after idle expiry", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		in := e.inst[0]
		idle, _, _ := signedIn(t, e, in)
		idleUID := idle.status(in).User.ID
		e.clock.Advance(6 * 24 * time.Hour)
		active := e.newBrowser()
		active.signIn(in, e.users()[1].ID)
		activeUID := active.status(in).User.ID
		e.clock.Advance(24*time.Hour + time.Minute) // the first user's session is idle past 7 days
		if err := in.a.SweepExpired(t.Context()); err != nil {
			t.Fatal(err)
		}
		if tokensOf(t, in, idleUID) {
			t.Error("tokens kept after the user's only session expired and was swept")
		}
		if !tokensOf(t, in, activeUID) {
			t.Error("the sweep took the tokens of a user whose session lives")
		}
	})
	t.Run("expired session used", func(t *testing.T) {
		e, in, b := signedInEnv(t, envOpts{})
		uid := b.status(in).User.ID
		e.clock.Advance(30*24*time.Hour + time.Minute) // past the absolute lifetime
		if r := b.ping(in); r.status != 401 {
			t.Fatalf("ping = %d, want 401", r.status)
		}
		if tokensOf(t, in, uid) {
			t.Error("tokens kept after the last session expired on use")
		}
	})
}

// Catalog case 78: a refresh that is still at Coze when the person signs out
// of their last session cannot write the new pair back (both databases).
func TestCase78_RefreshRacingLogout(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e, in, b := signedInEnv(t, envOpts{backend: backend})
			uid := b.status(in).User.ID
			e.clock.Advance(15 * time.Minute) // the access token is due
			e.sim.AddFault(cozesim.Fault{Endpoint: "POST /api/permission/oauth2/token", Latency: 500 * time.Millisecond})
			pinged := make(chan resp, 1)
			go func() { pinged <- b.ping(in) }()
			deadline := time.Now().Add(20 * time.Second)
			for e.refreshCalls() == 0 { // the refresh reached Coze and waits there
				if time.Now().After(deadline) {
					t.Fatal("no refresh started")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if r := b.post(in.url+"/api/auth/logout", nil); r.status != 200 {
				t.Fatalf("logout = %d %q", r.status, r.body)
			}
			r := <-pinged
			in.a.Wait()
			if r.status == 200 {
				t.Errorf("the request that raced the logout got 200")
			}
			if _, err := in.st.TokensByUser(t.Context(), uid); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("tokens after logout raced a refresh: err = %v, want none stored", err)
			}
			if e.refreshCalls() != 1 {
				t.Errorf("refreshes = %d, want 1", e.refreshCalls())
			}
			if !strings.Contains(e.logs.String(), "refreshed tokens dropped: the user signed out") {
				t.Errorf("the dropped pair was not logged")
			}
		})
	}
}
