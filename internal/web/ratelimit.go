package web

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// maxLimiterKeys bounds each limiter's table (about 100 bytes a key).
const maxLimiterKeys = 100_000

// limiter is a token bucket per key (a client address, a user) with a
// bounded number of keys, so the limiter itself cannot be flooded: when the
// table is full and no bucket can be forgotten, new keys are refused until
// buckets refill (issue 8 items 2 and 3).
type limiter struct {
	burst   float64
	every   time.Duration // one token per every
	maxKeys int
	now     func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastEvict time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(burst int, every time.Duration, maxKeys int, now func() time.Time) *limiter {
	return &limiter{burst: float64(max(burst, 1)), every: max(every, time.Millisecond), maxKeys: max(maxKeys, 1), now: now,
		buckets: map[string]*bucket{}}
}

// allow takes a token for key. Without one it reports how long until the
// next token, rounded up to whole seconds for Retry-After.
func (l *limiter) allow(key string) (ok bool, retryAfter time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.maxKeys && now.Sub(l.lastEvict) >= time.Second {
			l.lastEvict = now
			for k, o := range l.buckets {
				if l.level(o, now) >= l.burst { // full again: as good as new
					delete(l.buckets, k)
				}
			}
		}
		if len(l.buckets) >= l.maxKeys {
			return false, roundUp(l.every)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens, b.at = l.level(b, now), now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, roundUp(time.Duration((1 - b.tokens) * float64(l.every)))
}

func (l *limiter) level(b *bucket, now time.Time) float64 {
	return math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
}

// size is the number of keys held (tests and figures).
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func roundUp(d time.Duration) time.Duration {
	return max(time.Second, (d+time.Second-1)/time.Second*time.Second)
}

// clientAddr is the address a request comes from: the peer, or, when the
// peer is a trusted proxy, the nearest address in X-Forwarded-For that is not
// one (read right to left: the left part is whatever the client wrote). IPv6
// clients count by their /64, which one subscriber usually holds whole.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	peer := remoteIP(r.RemoteAddr)
	addr := peer
	if peer.IsValid() && inPrefixes(peer, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a malformed hop: trust nothing further left
			}
			addr = a.Unmap()
			if !inPrefixes(addr, trusted) {
				break
			}
		}
	}
	if !addr.IsValid() {
		return "unknown"
	}
	addr = addr.WithZone("") // fe80::1%eth0 and fe80::1%eth1 are one client
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func remoteIP(hostport string) netip.Addr {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
