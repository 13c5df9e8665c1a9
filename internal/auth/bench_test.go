package auth

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store"
	"github.com/coze2app/coze2app/internal/store/storetest"
	"github.com/coze2app/coze2app/internal/testkit"
)

// BenchmarkRefreshContention measures what 50 concurrent callers see when
// the access token has just expired (catalog case 34, figure "waiter
// latency"): each iteration expires the token and lets 50 goroutines ask
// for it at once. Reported: p50 and p99 waiter latency and refreshes per
// iteration (must be 1).
func BenchmarkRefreshContention(b *testing.B) {
	const waiters = 50
	ctx := b.Context()
	clock := cozesim.NewFakeClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	sim, simURL := testkit.StartSim(b, cozesim.Options{Clock: clock}, nil)
	st := storetest.OpenSQLite(b)
	a, err := New(Options{
		Coze:  coze.New(testkit.CozeOptions(simURL, cozesim.DefaultApp())),
		Store: st, Sealer: testkit.NewSealer(b, "k1"), Now: clock.Now, PKCE: PKCEOn,
	})
	if err != nil {
		b.Fatal(err)
	}
	u, err := st.UpsertUser(ctx, store.User{CozeUserID: sim.Users()[0].ID, Region: "cn", Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	acc, ref := sim.IssueToken(u.CozeUserID)
	if err := a.saveTokens(ctx, u.ID, coze.Token{
		AccessToken: coze.AccessToken(acc), RefreshToken: coze.RefreshToken(ref), ExpiresAt: clock.Now().Add(15 * time.Minute),
	}); err != nil {
		b.Fatal(err)
	}

	var mu sync.Mutex
	var lat []time.Duration
	iters := 0
	for b.Loop() {
		iters++
		clock.Advance(16 * time.Minute)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range waiters {
			wg.Go(func() {
				<-start
				t0 := time.Now()
				_, err := a.AccessToken(ctx, u.ID)
				d := time.Since(t0)
				if err != nil {
					b.Error(err)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(sim.Calls("token:refresh_token"))/float64(iters), "refreshes/iter")
}
