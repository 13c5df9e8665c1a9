package auth

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Group E of the security catalog: refresh timing, rotation, concurrency,
// revocation, transient failures, lost responses; plus restarts (J).
// Case 38 (SIGKILL of the lock holder) needs two processes and is left to
// the e2e suite; the store's lock is transaction-scoped, so a dead
// connection releases it.

// signedIn returns a browser signed in as the first demo user, its user id
// and Coze user id.
func signedIn(t *testing.T, e *testEnv, in *instance) (*browser, int64, string) {
	t.Helper()
	b := e.newBrowser()
	cozeID := e.users()[0].ID
	b.signIn(in, cozeID)
	return b, b.status(in).User.ID, cozeID
}

// storedPair decrypts the user's stored pair.
func storedPair(t *testing.T, in *instance, uid int64) coze.Token {
	t.Helper()
	row, err := in.st.TokensByUser(t.Context(), uid)
	if err != nil {
		t.Fatalf("tokens of %d: %v", uid, err)
	}
	tok, err := in.a.openTokens(row)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// lastBearer returns the access token of the last GET /v1/users/me.
func lastBearer(e *testEnv) string {
	var last string
	for _, r := range e.sim.Requests() {
		if r.Path == "/v1/users/me" {
			last = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
	}
	return last
}

// Case 32: proactive refresh 59 s before expiry, persisted before use;
// none at 61 s.
func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	e, in, b := signedInEnv(t, envOpts{})
	uid := b.status(in).User.ID
	e.clock.Advance(15*time.Minute - 61*time.Second)
	if r := b.ping(in); r.status != 200 || e.refreshCalls() != 0 {
		t.Fatalf("ping at 61 s = %d, refreshes %d; want 200, 0", r.status, e.refreshCalls())
	}
	e.clock.Advance(2 * time.Second) // 59 s left
	b.mustPing(in, 200, "ping at 59 s")
	e.wantRefreshes(t, 1, "refreshes")
	pair := storedPair(t, in, uid)
	if got := lastBearer(e); got != string(pair.AccessToken) {
		t.Errorf("call used a token that is not the stored one")
	}
	if want := e.clock.Now().Add(15 * time.Minute); !pair.ExpiresAt.Equal(want.Truncate(time.Second)) {
		t.Errorf("stored expiry %v, want %v", pair.ExpiresAt, want)
	}
}

// Case 33: reactive refresh on 4100 / 700012006: one refresh, one retry; a
// second rejection gives reauth_required with no loop.
func TestRefusedTokenRefreshedAndRetriedOnce(t *testing.T) {
	t.Parallel()
	variants := []struct {
		name string
		sim  func(*cozesim.Options)
	}{
		{"4100 over 401", nil},
		{"700012006 over 200", func(o *cozesim.Options) { o.InvalidTokenCode, o.InvalidTokenStatus = 700012006, 200 }},
		{"revoke access on refresh", func(o *cozesim.Options) { o.RevokeAccessOnRefresh = true }},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			e, in, b := signedInEnv(t, envOpts{sim: v.sim})
			cozeID := e.users()[0].ID
			e.sim.ExpireAccessTokens(cozeID)
			b.mustPing(in, 200, "ping after one refresh")
			if n, m := e.refreshCalls(), e.sim.Calls("GET /v1/users/me"); n != 1 || m != 3 {
				t.Errorf("refreshes %d, me calls %d; want 1 and 3 (sign-in, rejected, retry)", n, m)
			}
		})
	}
	t.Run("second rejection", func(t *testing.T) {
		e, in, b := signedInEnv(t, envOpts{})
		uid := b.status(in).User.ID
		e.sim.AddFault(cozesim.Fault{Endpoint: "GET /v1/users/me", Code: 4100, Msg: "authentication is invalid"})
		r := b.ping(in)
		if r.status != 401 || r.body != "reauth_required" {
			t.Errorf("ping = %d %q, want 401 reauth_required", r.status, r.body)
		}
		if n, m := e.refreshCalls(), e.sim.Calls("GET /v1/users/me"); n != 1 || m != 3 {
			t.Errorf("refreshes %d, me calls %d; want 1 and 3 (no loop)", n, m)
		}
		if s, _ := in.st.UserSessions(t.Context(), uid); len(s) != 0 {
			t.Errorf("sessions kept after reauth_required")
		}
	})
}

// concurrentPings sends n pings per instance at once and returns the statuses.
func concurrentPings(t *testing.T, b *browser, n int, ins ...*instance) map[int]int {
	t.Helper()
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, in := range ins {
		for range n {
			wg.Go(func() {
				<-start
				r := b.ping(in)
				mu.Lock()
				got[r.status]++
				mu.Unlock()
			})
		}
	}
	close(start)
	wg.Wait()
	return got
}

// Case 34 (+36 slow endpoint): 50 concurrent requests with an expired token
// in one instance → exactly one refresh, all succeed, latest pair stored.
func TestConcurrentRequestsRefreshOnce(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		for _, latency := range []time.Duration{50 * time.Millisecond, 300 * time.Millisecond} {
			t.Run(backend+"/"+latency.String(), func(t *testing.T) {
				t.Parallel()
				var outcomes sync.Map
				e := newEnv(t, envOpts{backend: backend, auth: func(o *Options) {
					o.OnRefresh = func(s string) { v, _ := outcomes.LoadOrStore(s, new(int)); *v.(*int)++ }
				}})
				in := e.inst[0]
				b, uid, _ := signedIn(t, e, in)
				e.clock.Advance(16 * time.Minute)
				e.sim.AddFault(cozesim.Fault{Endpoint: tokenEndpoint, Latency: latency})
				got := concurrentPings(t, b, 50, in)
				if got[200] != 50 {
					t.Errorf("statuses = %v, want 50×200", got)
				}
				e.wantRefreshes(t, 1, "refreshes seen by Coze")
				if v, ok := outcomes.Load("ok"); !ok || *v.(*int) != 1 {
					t.Errorf("OnRefresh(ok) not called exactly once")
				}
				if got := lastBearer(e); got != string(storedPair(t, in, uid).AccessToken) {
					t.Errorf("the stored pair is not the latest")
				}
				if s := b.status(in); !s.Authenticated {
					t.Errorf("user logged out")
				}
			})
		}
	}
}

// Case 35: two instances (two store.Open on one PostgreSQL schema), 25
// concurrent requests each → exactly one refresh; sign-in started on one
// instance finishes on the other.
func TestTwoInstancesRefreshOnceThroughPostgres(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{backend: "postgres", instances: 2})
	a, bInst := e.inst[0], e.inst[1]

	br := e.newBrowser()
	cb := br.consent(br.begin(a, ""), e.users()[0].ID, "approve")
	cb = strings.Replace(cb, a.url, bInst.url, 1)
	if r := br.get(cb); r.status != 302 {
		t.Fatalf("cross-instance callback = %d %q", r.status, r.body)
	}
	e.clock.Advance(16 * time.Minute)
	e.sim.AddFault(cozesim.Fault{Endpoint: tokenEndpoint, Latency: 100 * time.Millisecond})
	got := concurrentPings(t, br, 25, a, bInst)
	if got[200] != 50 {
		t.Errorf("statuses = %v, want 50×200", got)
	}
	if n := e.refreshCalls(); n != 1 {
		t.Errorf("refreshes seen by Coze = %d, want 1\n%s", n, e.logs.String())
	}
}

// Case 36: waiters give up after LockWait with a retryable 503, never a
// logout; the one refresh still completes and is used afterwards.
func TestSlowRefreshWaitersGiveUpRetryably(t *testing.T) {
	t.Parallel()
	e, in, b := signedInEnv(t, envOpts{auth: func(o *Options) { o.LockWait = 100 * time.Millisecond }})
	e.clock.Advance(16 * time.Minute)
	e.sim.AddFault(cozesim.Fault{Endpoint: tokenEndpoint, Latency: time.Second, Times: 1})
	got := concurrentPings(t, b, 10, in)
	if got[503] != 10 {
		t.Errorf("statuses = %v, want 10×503", got)
	}
	in.a.Wait()
	b.wantPing(in, 200, "ping after the slow refresh")
	e.wantRefreshes(t, 1, "refreshes")
}

// Case 37: the requester leaves mid-refresh: the refresh completes on a
// detached context and is persisted; the next call does not refresh.
func TestRefreshOutlivesTheRequester(t *testing.T) {
	t.Parallel()
	e, in, b := signedInEnv(t, envOpts{})
	uid := b.status(in).User.ID
	before := storedPair(t, in, uid)
	e.clock.Advance(16 * time.Minute)
	e.sim.AddFault(cozesim.Fault{Endpoint: tokenEndpoint, Latency: 300 * time.Millisecond, Times: 1})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	base := e.sim.Calls(tokenEndpoint) // the sign-in's code exchange, counted before the refresh can start
	go func() {
		_, err := in.a.AccessToken(ctx, uid)
		errc <- err
	}()
	for e.sim.Calls(tokenEndpoint) == base { // the refresh request is in flight
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller err = %v, want context.Canceled", err)
	}
	in.a.Wait()
	after := storedPair(t, in, uid)
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken {
		t.Fatalf("refresh not persisted after the requester left\n%s", e.logs.String())
	}
	b.wantPing(in, 200, "next ping")
	e.wantRefreshes(t, 1, "refreshes")
}

// Case 39: a revoked or expired refresh token → reauth_required, sessions
// and tokens cleared, and a new sign-in works at once.
func TestRevokedRefreshTokenRequiresReauth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		kill  func(e *testEnv, cozeID string)
		authO func(*Options)
	}{
		{"revoked", func(e *testEnv, cozeID string) {
			e.sim.RevokeRefreshTokens(cozeID)
			e.clock.Advance(16 * time.Minute)
		}, nil},
		{"31 days", func(e *testEnv, _ string) { e.clock.Advance(31 * 24 * time.Hour) },
			func(o *Options) { o.SessionIdle, o.SessionMax = 60*24*time.Hour, 60*24*time.Hour }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, in, b := signedInEnv(t, envOpts{auth: tt.authO})
			uid := b.status(in).User.ID
			cozeID := e.users()[0].ID
			tt.kill(e, cozeID)
			r := b.ping(in)
			if r.status != 401 || r.body != "reauth_required" {
				t.Errorf("ping = %d %q, want 401 reauth_required", r.status, r.body)
			}
			if s := b.status(in); s.Authenticated {
				t.Errorf("status still authenticated")
			}
			if _, err := in.st.TokensByUser(t.Context(), uid); err == nil {
				t.Errorf("tokens kept")
			}
			if s, _ := in.st.UserSessions(t.Context(), uid); len(s) != 0 {
				t.Errorf("sessions kept: %d", len(s))
			}
			b.signIn(in, cozeID)
			b.wantPing(in, 200, "ping after new sign-in")
		})
	}
}

// Case 40: transient refresh failures (503, timeout) → retryable 503, the
// session and the old pair kept, the next try succeeds.
func TestTransientRefreshFailureIsRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault cozesim.Fault
	}{
		{"503", cozesim.Fault{HTTPStatus: 503}},
		{"timeout", cozesim.Fault{StallHeaders: true}},
		{"internal_error", cozesim.Fault{OAuthError: "internal_error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var transient int
			e := newEnv(t, envOpts{auth: func(o *Options) {
				o.RefreshTimeout = 300 * time.Millisecond
				o.OnRefresh = func(s string) {
					if s == "transient" {
						transient++
					}
				}
			}})
			in := e.inst[0]
			b, uid, _ := signedIn(t, e, in)
			before := storedPair(t, in, uid)
			e.clock.Advance(16 * time.Minute)
			tt.fault.Endpoint, tt.fault.Times = tokenEndpoint, 1
			e.sim.AddFault(tt.fault)
			r := b.ping(in)
			if r.status != 503 || r.body != "refresh_unavailable" {
				t.Errorf("ping = %d %q, want 503 refresh_unavailable", r.status, r.body)
			}
			if after := storedPair(t, in, uid); after != before {
				t.Errorf("stored pair changed by a failed refresh")
			}
			if transient != 1 {
				t.Errorf("OnRefresh(transient) = %d, want 1", transient)
			}
			b.wantPing(in, 200, "retry")
		})
	}
}

// resetOnce fails the first refresh request with a connection reset
// before anything is sent.
type resetOnce struct {
	mu   sync.Mutex
	done bool
}

func (r *resetOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	first := !r.done && req.URL.Path == "/api/permission/oauth2/token" && isRefresh(req)
	if first {
		r.done = true
	}
	r.mu.Unlock()
	if first {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return http.DefaultTransport.RoundTrip(req)
}

func isRefresh(req *http.Request) bool {
	body, err := req.GetBody()
	if err != nil {
		return false
	}
	b, _ := io.ReadAll(body)
	return strings.Contains(string(b), `"refresh_token"`)
}

// Case 40 (reset before any byte): the refresh is retried once at once, which
// is safe because Coze never saw the first request; no logout, one rotation.
func TestRefreshResetBeforeSendRetriedOnce(t *testing.T) {
	t.Parallel()
	e, in, b := signedInEnv(t, envOpts{transport: &resetOnce{}})
	e.clock.Advance(16 * time.Minute)
	b.wantPing(in, 200, "ping after one retry")
	e.wantRefreshes(t, 1, "refreshes seen by Coze")
}

// Case 41a: Coze rotates, then the connection dies before the response:
// one follow-up with the dead token, then a clean reauth_required, logged
// as "refresh response lost".
func TestLostRefreshResponseEndsInReauth(t *testing.T) {
	t.Parallel()
	e, in, b := signedInEnv(t, envOpts{})
	uid := b.status(in).User.ID
	e.clock.Advance(16 * time.Minute)
	e.sim.AddFault(cozesim.Fault{Endpoint: tokenEndpoint, ResetAfterWrite: true, Times: 1})
	r := b.ping(in)
	if r.status != 401 || r.body != "reauth_required" {
		t.Errorf("ping = %d %q, want 401 reauth_required", r.status, r.body)
	}
	e.wantRefreshes(t, 2, "refresh attempts", "the lost one and one follow-up")
	if !strings.Contains(e.logs.String(), `"refresh response lost"`) {
		t.Errorf("no \"refresh response lost\" log")
	}
	if _, err := in.st.TokensByUser(t.Context(), uid); err == nil {
		t.Errorf("dead tokens kept")
	}
	if r := b.ping(in); r.status != 401 {
		t.Errorf("second ping = %d, want 401 (no loop)", r.status)
	}
	e.wantRefreshes(t, 2, "refresh attempts after second ping")
}

// failTokenWrites makes every write of coze_tokens fail until the returned
// func is called.
func failTokenWrites(t *testing.T, in *instance) func() {
	t.Helper()
	db := in.st.DB()
	var stmts, undo []string
	if in.st.Dialect() == "postgres" {
		stmts = []string{
			`CREATE FUNCTION fail_tokens() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected write failure'; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER fail_tokens BEFORE INSERT OR UPDATE ON coze_tokens FOR EACH ROW EXECUTE FUNCTION fail_tokens()`,
		}
		undo = []string{`DROP TRIGGER fail_tokens ON coze_tokens`, `DROP FUNCTION fail_tokens()`}
	} else {
		stmts = []string{
			`CREATE TRIGGER fail_tokens_i BEFORE INSERT ON coze_tokens BEGIN SELECT RAISE(ABORT, 'injected write failure'); END`,
			`CREATE TRIGGER fail_tokens_u BEFORE UPDATE ON coze_tokens BEGIN SELECT RAISE(ABORT, 'injected write failure'); END`,
		}
		undo = []string{`DROP TRIGGER fail_tokens_i`, `DROP TRIGGER fail_tokens_u`}
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return func() {
		for _, s := range undo {
			if _, err := db.ExecContext(t.Context(), s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
}

// Case 41b: the database write fails after Coze returned a new pair: 503,
// the pair kept in memory, no second refresh with the dead token, persisted
// on the next call once the database recovers.
func TestUnpersistedRefreshKeptInMemory(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e, in, b := signedInEnv(t, envOpts{backend: backend})
			uid := b.status(in).User.ID
			e.clock.Advance(16 * time.Minute)
			heal := failTokenWrites(t, in)
			for i := range 2 {
				if r := b.ping(in); r.status != 503 {
					t.Errorf("ping %d while writes fail = %d %q, want 503", i, r.status, r.body)
				}
			}
			e.wantRefreshes(t, 1, "refreshes", "the new pair is kept in memory")
			heal()
			b.wantPing(in, 200, "ping after recovery")
			e.wantRefreshes(t, 1, "refreshes after recovery")
			if got := lastBearer(e); got != string(storedPair(t, in, uid).AccessToken) {
				t.Errorf("stored pair is not the one Coze issued")
			}
		})
	}
}

// Restart (catalog J): closing and reopening the store with a new Auth keeps
// the session and the tokens; refresh still works afterwards.
func TestRestartKeepsSessionAndTokens(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e, in, b := signedInEnv(t, envOpts{backend: backend})
			other := e.newBrowser()
			pending := other.begin(in, "return_to=/after")
			in.restart()
			b.mustPing(in, 200, "ping after restart")
			e.wantRefreshes(t, 0, "refreshes")
			if r := other.get(other.consent(pending, e.users()[1].ID, "approve")); r.status != 302 || r.loc != "/after" {
				t.Errorf("sign-in begun before the restart = %d %q %q", r.status, r.loc, r.body)
			}
			e.clock.Advance(16 * time.Minute)
			if r := b.ping(in); r.status != 200 || e.refreshCalls() != 1 {
				t.Errorf("refresh after restart = %d, %d calls", r.status, e.refreshCalls())
			}
		})
	}
}
