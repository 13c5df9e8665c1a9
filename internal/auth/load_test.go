package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// Group I of the security catalog, the auth side: a refresh storm (case 62)
// and a sign-in flood (case 63). Sizes are scaled down for -race on a small
// machine; COZE2APP_LOAD_N and COZE2APP_FLOOD_N scale them up by hand, e.g.
//
//	COZE2APP_LOAD_N=1000 go test -race -run 'TestCase62/sqlite' ./internal/auth

// loadSize returns the integer in env var name, or def.
func loadSize(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// tokenGauge is a transport that counts token-endpoint calls in flight and
// remembers the peak ("concurrency to the token endpoint", case 62).
type tokenGauge struct {
	base     http.RoundTripper
	cur, max atomic.Int64
}

func (g *tokenGauge) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != "/api/permission/oauth2/token" {
		return g.base.RoundTrip(r)
	}
	n := g.cur.Add(1)
	defer g.cur.Add(-1)
	for m := g.max.Load(); n > m && !g.max.CompareAndSwap(m, n); m = g.max.Load() {
	}
	return g.base.RoundTrip(r)
}

// seedUsers creates n users, each with a fresh pair from the simulator that
// expires 15 minutes from now on the shared fake clock.
func seedUsers(t *testing.T, e *testEnv, in *instance, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	exp := e.clock.Now().Add(15 * time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := atomic.Int64{}
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				cozeID := fmt.Sprintf("79%017d", i)
				u, err := in.st.UpsertUser(t.Context(), store.User{CozeUserID: cozeID, Region: "cn", Name: "load " + cozeID})
				if err != nil {
					errs <- fmt.Errorf("user %d: %w", i, err)
					return
				}
				// Tokens are kept only while a session lives (issue 8 item 8).
				now := e.clock.Now()
				if err := in.st.CreateSession(t.Context(), store.Session{ID: rand.Text(), UserID: u.ID, SecretHash: make([]byte, 32),
					CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
					errs <- fmt.Errorf("session %d: %w", i, err)
					return
				}
				acc, ref := e.sim.IssueToken(cozeID)
				if err := in.a.saveTokens(t.Context(), u.ID, coze.Token{
					AccessToken: coze.AccessToken(acc), RefreshToken: coze.RefreshToken(ref), ExpiresAt: exp,
				}); err != nil {
					errs <- fmt.Errorf("tokens %d: %w", i, err)
					return
				}
				ids[i] = u.ID
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ids
}

// pgSampler polls pg_locks and pg_stat_activity for the backends of one
// instance (tagged by application_name) and keeps the peaks.
type pgSampler struct {
	maxHeld, maxWaiting, maxConns, maxPerKey int
}

func (s *pgSampler) run(ctx context.Context, db *sql.DB, app string) error {
	for {
		var held, waiting, conns, perKey int
		err := db.QueryRowContext(ctx, `
SELECT
  (SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1),
  (SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = $1),
  (SELECT count(*) FROM pg_stat_activity WHERE application_name = $1),
  (SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND a.application_name = $1 GROUP BY l.classid, l.objid) k)`,
			app).Scan(&held, &waiting, &conns, &perKey)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		s.maxHeld, s.maxWaiting = max(s.maxHeld, held), max(s.maxWaiting, waiting)
		s.maxConns, s.maxPerKey = max(s.maxConns, conns), max(s.maxPerKey, perKey)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// withAppName tags a PostgreSQL URL so the sampler can find its backends.
func withAppName(tb testing.TB, raw, name string) string {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[int(p*float64(len(d)-1))]
}

// Case 62: refresh storm. N users' access tokens expire in the same instant
// and each user sends 5 concurrent requests through the Coze client with
// the user's Auth.Source (GET /v1/users/me). Must: exactly N refreshes at
// Coze, every request succeeds, and lock waiters never hold DB connections — on PostgreSQL at
// most one advisory lock per user, no waiter blocked in the database, and
// lock holders bounded by the lock pool, not by N.
func TestRefreshStormRefreshesOncePerUser(t *testing.T) {
	const perUser = 5
	// Defaults keep the -race run short on a shared 2-core machine. Measured
	// by hand (COZE2APP_LOAD_N): SQLite passes at N=1000 without -race and
	// fails at N=2000 (and at N=400 under -race): persisting a rotated pair
	// (5 s budget) queues behind the storm's reads on the 4-connection pool.
	// Under CPU contention (go test ./... runs packages at once) the limit
	// is lower still, hence these defaults.
	defaults := map[string]int{"sqlite": 50, "postgres": 50}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			n := loadSize(t, "COZE2APP_LOAD_N", defaults[backend])
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = 256
			gauge := &tokenGauge{base: tr}
			e := newEnv(t, envOpts{backend: backend, transport: gauge})
			in := e.inst[0]
			appName := "case62_" + strings.ToLower(rand.Text()[:10])
			if backend == "postgres" {
				e.dbURL = withAppName(t, e.dbURL, appName)
				in.restart()
			}
			t0 := time.Now()
			uids := seedUsers(t, e, in, n)
			seeded := time.Since(t0)

			var samp pgSampler
			sampCtx, stopSamp := context.WithCancel(t.Context())
			sampDone := make(chan error, 1)
			if backend == "postgres" {
				admin, err := sql.Open("pgx", withAppName(t, e.dbURL, appName+"_sampler"))
				if err != nil {
					t.Fatal(err)
				}
				admin.SetMaxOpenConns(1)
				t.Cleanup(func() { admin.Close() })
				go func() { sampDone <- samp.run(sampCtx, admin, appName) }()
			} else {
				close(sampDone)
			}

			e.clock.Advance(16 * time.Minute) // every pair expired at once
			var (
				mu   sync.Mutex
				lat  []time.Duration
				errs []error
				// users with a failed request, retried once after the storm
				failed []int64
				wg     sync.WaitGroup
			)
			start := make(chan struct{})
			for _, uid := range uids {
				for range perUser {
					wg.Go(func() {
						<-start
						t1 := time.Now()
						_, err := in.cz.Me(t.Context(), in.a.Source(uid))
						d := time.Since(t1)
						mu.Lock()
						lat = append(lat, d)
						if err != nil {
							errs = append(errs, fmt.Errorf("user %d: %w", uid, err))
							failed = append(failed, uid)
						}
						mu.Unlock()
					})
				}
			}
			t1 := time.Now()
			close(start)
			wg.Wait()
			in.a.Wait()
			storm := time.Since(t1)
			stopSamp()
			if err := <-sampDone; err != nil {
				t.Errorf("pg sampler: %v", err)
			}

			if len(errs) > 0 {
				// Diagnose: a failure must be retryable (no logout), and the
				// retry must not refresh again (the rotated pair was kept).
				retryFailed := 0
				for _, uid := range failed {
					if _, err := in.cz.Me(t.Context(), in.a.Source(uid)); err != nil {
						retryFailed++
					}
				}
				t.Errorf("%d of %d requests failed; first: %v; on retry %d of %d still failed, refresh calls now %d",
					len(errs), n*perUser, errs[0], retryFailed, len(failed), e.refreshCalls())
			}
			if got := e.refreshCalls(); got != n {
				t.Errorf("refresh calls at Coze = %d, want %d (one per user)", got, n)
			}
			st := in.st.DB().Stats()
			if backend == "postgres" {
				// WithUserLock holds one lock-pool connection per user in
				// flight; waiters of the same user share that flight.
				if samp.maxPerKey > 1 || samp.maxWaiting > 0 {
					t.Errorf("advisory locks: %d per key, %d waiting in PostgreSQL; want ≤ 1 and 0", samp.maxPerKey, samp.maxWaiting)
				}
				if limit := st.MaxOpenConnections + 32; samp.maxConns > limit {
					t.Errorf("instance held %d connections, want ≤ %d (main + lock pool)", samp.maxConns, limit)
				}
			}
			slices.Sort(lat)
			t.Logf("%s: N=%d users × %d requests: seed %v, storm %v; refresh calls %d; token calls in flight max %d; "+
				"Do latency p50 %v p99 %v max %v; main pool max_open %d wait_count %d wait %v; pg: locks held max %d, waiting max %d, per key max %d, conns max %d",
				backend, n, perUser, seeded.Round(time.Millisecond), storm.Round(time.Millisecond), e.refreshCalls(), gauge.max.Load(),
				pct(lat, .5).Round(time.Millisecond), pct(lat, .99).Round(time.Millisecond), pct(lat, 1).Round(time.Millisecond),
				st.MaxOpenConnections, st.WaitCount, st.WaitDuration.Round(time.Millisecond),
				samp.maxHeld, samp.maxWaiting, samp.maxPerKey, samp.maxConns)
		})
	}
}

// Case 63: sign-in flood. Many GET /auth, then as many /callback requests
// with random codes and states (half with no cookie, half carrying a real
// binding cookie). Must: every callback is rejected at the state check with
// 0 token calls; pending sign-ins grow one per /auth (no amplification)
// and are all swept once PendingTTL has passed.
func TestSignInFloodMakesNoTokenCalls(t *testing.T) {
	n := loadSize(t, "COZE2APP_FLOOD_N", 1000)
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	h := in.h
	ctx := t.Context()

	var ms0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)

	bindings := make([]string, n)
	var failures atomic.Int64
	var firstFail atomic.Value
	parallel := func(f func(i int)) {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range 8 {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					f(i)
				}
			})
		}
		wg.Wait()
	}
	t0 := time.Now()
	parallel(func(i int) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", in.url+"/auth", nil))
		if rec.Code != http.StatusFound {
			failures.Add(1)
			firstFail.CompareAndSwap(nil, fmt.Sprintf("/auth = %d %s", rec.Code, rec.Body))
			return
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == in.a.BindingCookieName() {
				bindings[i] = c.Name + "=" + c.Value
			}
		}
	})
	begun := time.Since(t0)
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d /auth requests failed; first: %v", f, firstFail.Load())
	}
	pending, err := in.st.CountPendingSignIns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pending != int64(n) {
		t.Errorf("pending sign-ins after %d /auth = %d, want exactly %d", n, pending, n)
	}

	t0 = time.Now()
	parallel(func(i int) {
		q := url.Values{"code": {"code_" + rand.Text()}, "state": {rand.Text()}}
		req := httptest.NewRequestWithContext(ctx, "GET", in.url+"/callback?"+q.Encode(), nil)
		if i%2 == 1 && bindings[i] != "" {
			req.Header.Set("Cookie", bindings[i])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || rec.Body.String() != "state_invalid" {
			failures.Add(1)
			firstFail.CompareAndSwap(nil, fmt.Sprintf("/callback = %d %s", rec.Code, rec.Body))
		}
	})
	called := time.Since(t0)
	if f := failures.Load(); f > 0 {
		t.Errorf("%d of %d callbacks not rejected as state_invalid; first: %v", f, n, firstFail.Load())
	}
	if c := e.codeCalls(); c != 0 {
		t.Errorf("token calls (authorization_code) = %d, want 0", c)
	}
	after, err := in.st.CountPendingSignIns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != pending {
		t.Errorf("pending sign-ins after random callbacks = %d, want unchanged %d", after, pending)
	}
	var ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms1)

	e.clock.Advance(10*time.Minute + time.Second) // PendingTTL default
	if err := in.a.SweepExpired(ctx); err != nil {
		t.Fatal(err)
	}
	swept, err := in.st.CountPendingSignIns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if swept != 0 {
		t.Errorf("pending sign-ins after PendingTTL + SweepExpired = %d, want 0", swept)
	}
	t.Logf("N=%d: /auth %v, callbacks %v; pending before/after callbacks/after sweep = %d/%d/%d; code-exchange calls %d; heap after flood %+d KiB",
		n, begun.Round(time.Millisecond), called.Round(time.Millisecond), pending, after, swept, e.codeCalls(),
		(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc))/1024)
}
