package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
)

// Catalog case 72 (issue 8 item 2): GET /auth is rate-limited per client
// address (the peer, or what a trusted proxy reports), and pending sign-ins
// are capped per browser and in all; over a limit the browser gets 429 with
// Retry-After and a page that says what to do.
func TestCase72_SignInFlood(t *testing.T) {
	ctx := context.Background()
	pending := func(e *testEnv) int64 {
		n, err := e.st.CountLivePendingSignIns(ctx, time.Now(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	authFrom := func(e *testEnv, c *http.Client, xff string) resp {
		hdr := map[string]string{"Sec-Fetch-Site": "same-origin"}
		if xff != "" {
			hdr["X-Forwarded-For"] = xff
		}
		return e.send(c, req{method: "GET", path: "/auth", hdr: hdr})
	}
	mustBeRefused := func(t *testing.T, r resp) {
		t.Helper()
		mustStatus(t, "GET /auth over the limit", r, http.StatusTooManyRequests)
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After = %q, want whole seconds", r.header.Get("Retry-After"))
		}
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), say(langEn, "callback.too_many.title", nil)) {
			t.Errorf("429 page = %.300s, want the friendly page", r.body)
		}
	}

	t.Run("per address", func(t *testing.T) {
		e := newTestEnv(t, envOpts{web: func(d *Deps) { d.SignInBurst, d.SignInEvery = 5, time.Hour }})
		for i := range 5 {
			mustStatus(t, fmt.Sprintf("/auth #%d", i+1), authFrom(e, e.newClient(), ""), http.StatusFound)
		}
		mustBeRefused(t, authFrom(e, e.newClient(), ""))
		// Without trusted proxies, X-Forwarded-For is the client's own word.
		mustBeRefused(t, authFrom(e, e.newClient(), "203.0.113.9"))
		if n := pending(e); n != 5 {
			t.Errorf("pending sign-ins = %d, want 5", n)
		}
	})

	t.Run("behind a trusted proxy", func(t *testing.T) {
		e := newTestEnv(t, envOpts{web: func(d *Deps) {
			d.SignInBurst, d.SignInEvery = 2, time.Hour
			d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
		}})
		// Each client address has its own budget, through two proxies.
		for _, client := range []string{"203.0.113.1", "203.0.113.2", "2001:db8:1:2::5"} {
			for i := range 2 {
				r := authFrom(e, e.newClient(), "198.51.100.66, "+client+", 10.1.2.3")
				mustStatus(t, fmt.Sprintf("client %s #%d", client, i+1), r, http.StatusFound)
			}
			mustBeRefused(t, authFrom(e, e.newClient(), client+", 10.1.2.3"))
		}
		// A spoofed left-most hop does not buy a new budget; another host in
		// the same IPv6 /64 shares its subscriber's budget.
		mustBeRefused(t, authFrom(e, e.newClient(), "192.0.2.99, 203.0.113.1"))
		mustBeRefused(t, authFrom(e, e.newClient(), "2001:db8:1:2::ffff"))
	})

	t.Run("per browser", func(t *testing.T) {
		e := newTestEnv(t, envOpts{web: func(d *Deps) { d.SignInBurst = 1000 }})
		c := e.newClient()
		for i := range 8 {
			mustStatus(t, fmt.Sprintf("tab %d", i+1), authFrom(e, c, ""), http.StatusFound)
		}
		mustBeRefused(t, authFrom(e, c, ""))
		mustStatus(t, "another browser", authFrom(e, e.newClient(), ""), http.StatusFound)
	})

	t.Run("in all", func(t *testing.T) {
		e := newTestEnv(t, envOpts{
			web:  func(d *Deps) { d.SignInBurst = 1000 },
			auth: func(o *auth.Options) { o.MaxPending = 30 },
		})
		for i := range 30 {
			mustStatus(t, fmt.Sprintf("browser %d", i+1), authFrom(e, e.newClient(), ""), http.StatusFound)
		}
		mustBeRefused(t, authFrom(e, e.newClient(), ""))
		if n := pending(e); n != 30 {
			t.Errorf("pending sign-ins = %d, want the cap of 30", n)
		}
	})
}

// The load probe of case 72: N GET /auth from 2,000 addresses behind a
// trusted proxy, run through the handler in-process, once with the limits
// out of the way (as before the fix) and once with them. Printed: what is
// kept (pending rows) and the heap before and after.
func TestCase72_SignInFloodFigures(t *testing.T) {
	// COZE2APP_FLOOD_N=20000 for the figures of the closing note.
	n, _ := strconv.Atoi(os.Getenv("COZE2APP_FLOOD_N"))
	n = cmp.Or(n, 4000)
	const addrs, capPending = 2000, 1000
	for _, limited := range []bool{false, true} {
		e := newTestEnv(t, envOpts{
			quiet: true,
			web: func(d *Deps) {
				d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
				if !limited {
					d.SignInBurst = n
				}
			},
			auth: func(o *auth.Options) {
				o.MaxPending = capPending
				if !limited {
					o.MaxPending = n
				}
			},
		})
		h := e.srv.Config.Handler
		heapBefore := heapInUse()
		codes := map[int]int{}
		start := time.Now()
		for i := range n {
			r, _ := http.NewRequest("GET", e.url+"/auth", nil)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Host = strings.TrimPrefix(e.url, "http://")
			r.Header.Set("X-Forwarded-For", fmt.Sprintf("198.18.%d.%d", (i%addrs)/250, (i%addrs)%250+1))
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, r)
			codes[w.code]++
		}
		took := time.Since(start)
		heapAfter := heapInUse()
		rows, _ := e.st.CountPendingSignIns(context.Background())
		if limited && (rows > capPending || codes[http.StatusTooManyRequests] < n-capPending) {
			t.Errorf("limited: pending rows %d, answers %v; want at most %d rows and the rest 429", rows, codes, capPending)
		}
		t.Logf("figures (limits %v): %d GET /auth from %d addresses in %v: answers %v; pending rows %d; heap %+d KiB",
			limited, n, addrs, took.Round(time.Millisecond), codes, rows, (int64(heapAfter)-int64(heapBefore))>>10)
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	return len(b), nil
}
func (w *discardWriter) WriteHeader(c int) {
	if w.code == 0 {
		w.code = c
	}
}

// The limiter cannot be flooded itself: its table is bounded, full buckets
// are forgotten, and while every key is busy new keys wait.
func TestCase72_LimiterTableBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newLimiter(2, time.Minute, 100, func() time.Time { return now })
	refused := 0
	for i := range 10_000 {
		if ok, _ := l.allow("k" + strconv.Itoa(i)); !ok {
			refused++
		}
	}
	if l.size() > 100 || refused != 10_000-100 {
		t.Fatalf("size %d, refused %d; want 100 keys and the rest refused", l.size(), refused)
	}
	if ok, wait := l.allow("k1"); !ok || wait != 0 {
		t.Errorf("a known key with a token left was refused (%v)", wait)
	}
	l.allow("k1")
	if ok, wait := l.allow("k1"); ok || wait != time.Minute {
		t.Errorf("k1 after its burst: ok=%v wait=%v, want refused for a minute", ok, wait)
	}
	now = now.Add(3 * time.Minute) // every bucket is full again: forgettable
	if ok, _ := l.allow("newcomer"); !ok {
		t.Error("a new key is refused after the table refilled")
	}
	if l.size() > 100 {
		t.Errorf("size %d after eviction", l.size())
	}
}

func TestCase72_ClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tt := range []struct {
		peer, xff, want string
	}{
		{"203.0.113.5:1234", "", "203.0.113.5"},
		{"203.0.113.5:1234", "1.2.3.4", "203.0.113.5"},                  // untrusted peer: header ignored
		{"10.0.0.2:80", "1.2.3.4", "1.2.3.4"},                           // one proxy
		{"10.0.0.2:80", "6.6.6.6, 1.2.3.4, 10.9.9.9", "1.2.3.4"},        // two proxies, spoofed left part
		{"10.0.0.2:80", "garbage, 1.2.3.4", "1.2.3.4"},                  // left garbage never read
		{"10.0.0.2:80", "1.2.3.4, garbage", "10.0.0.2"},                 // garbage at our edge: the proxy itself
		{"[::1]:80", "2001:db8:a:b:c:d:e:f", "2001:db8:a:b::/64"},       // IPv6 by /64
		{"[::ffff:10.0.0.2]:80", "::ffff:198.51.100.7", "198.51.100.7"}, // mapped addresses unmapped
		{"[2001:db8::1]:443", "", "2001:db8::/64"},
		{"not an address", "", "unknown"},
	} {
		r, _ := http.NewRequest("GET", "/auth", nil)
		r.RemoteAddr = tt.peer
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := clientAddr(r, trusted); got != tt.want {
			t.Errorf("peer %s XFF %q: client = %s, want %s", tt.peer, tt.xff, got, tt.want)
		}
	}
}

// FuzzClientAddr: any X-Forwarded-For yields a bounded key; from an
// untrusted peer it is always the peer (catalog case 58 for issue 8 item 2).
func FuzzClientAddr(f *testing.F) {
	for _, s := range []string{"", "1.2.3.4", "6.6.6.6, 1.2.3.4, 10.9.9.9", "garbage, ::1", "[::1]", ",,,", "2001:db8::1%eth0"} {
		f.Add("10.0.0.2:80", s)
		f.Add("203.0.113.5:1", s)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, peer, xff string) {
		r, _ := http.NewRequest("GET", "/auth", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		got := clientAddr(r, trusted)
		if got == "" || len(got) > 64 {
			t.Fatalf("clientAddr(%q, %q) = %q", peer, xff, got)
		}
		if p := remoteIP(peer); p.IsValid() && !inPrefixes(p, trusted) {
			want := p.String()
			if p.Is6() {
				pp, _ := p.Prefix(64)
				want = pp.String()
			}
			if got != want {
				t.Fatalf("untrusted peer %q with XFF %q: client %q, want the peer %q", peer, xff, got, want)
			}
		}
	})
}
