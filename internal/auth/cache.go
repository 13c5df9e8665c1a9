package auth

import (
	"sync"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// DefaultCacheTTL is how long an instance trusts a session, user or token row
// it read (and, for tokens, opened) without reading it again. Changes made on
// this instance (sign-out, sign-in, refresh, a cleared grant) drop the entries
// at once; changes made by another instance are seen within this bound.
const DefaultCacheTTL = time.Second

// cache keeps validated sessions with their user, and unsealed access
// tokens, for at most ttl. It saves the session, user and token reads and the
// AES-GCM open of every request and chat start.
//
// A token is cached only after it opened under its own user's associated data
// (catalog case 27): a row copied to another user fails that open and is never
// cached, so no entry holds another user's token.
//
// Invalidation bumps epoch; a fill whose read began before a bump is dropped,
// so a reader that raced a sign-out cannot put the old row back.
type cache struct {
	ttl time.Duration // <= 0: nothing is cached

	mu       sync.Mutex
	epoch    uint64
	sessions map[string]entry[sessionEntry] // by session id
	tokens   map[int64]entry[tokenEntry]    // by user id
}

type sessionEntry struct {
	s store.Session
	u store.User
}

type tokenEntry struct {
	tok       coze.AccessToken
	expiresAt time.Time
}

// entry is a cached value and when its read began.
type entry[V any] struct {
	v  V
	at time.Time
}

// maxCached bounds each map; a full map is swept of stale entries, then
// cleared if that was not enough.
const maxCached = 8192

func newCache(ttl time.Duration) *cache {
	return &cache{ttl: ttl, sessions: map[string]entry[sessionEntry]{}, tokens: map[int64]entry[tokenEntry]{}}
}

// fresh reports whether an entry read at at may still be used at now.
func (c *cache) fresh(at, now time.Time) bool {
	return !now.Before(at) && now.Sub(at) < c.ttl
}

// begin returns the epoch a fill must match; call it before the read.
func (c *cache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

func (c *cache) session(id string, now time.Time) (sessionEntry, bool) {
	return cacheGet(c, c.sessions, id, now)
}

func (c *cache) putSession(epoch uint64, s store.Session, u store.User, now time.Time) {
	cachePut(c, c.sessions, epoch, s.ID, sessionEntry{s: s, u: u}, now)
}

func (c *cache) token(userID int64, now time.Time) (tokenEntry, bool) {
	return cacheGet(c, c.tokens, userID, now)
}

func (c *cache) putToken(epoch uint64, userID int64, tok coze.AccessToken, expiresAt, now time.Time) {
	cachePut(c, c.tokens, epoch, userID, tokenEntry{tok: tok, expiresAt: expiresAt}, now)
}

func cacheGet[K comparable, V any](c *cache, m map[K]entry[V], k K, now time.Time) (V, bool) {
	var zero V
	if c.ttl <= 0 {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := m[k]
	if !ok || !c.fresh(e.at, now) {
		return zero, false
	}
	return e.v, true
}

// cachePut stores v read since now unless an invalidation came after epoch.
func cachePut[K comparable, V any](c *cache, m map[K]entry[V], epoch uint64, k K, v V, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if len(m) >= maxCached {
		n := len(m)
		for k, e := range m {
			if !c.fresh(e.at, now) {
				delete(m, k)
			}
		}
		if len(m) == n {
			clear(m)
		}
	}
	m[k] = entry[V]{v: v, at: now}
}

// invalidate runs drop under the lock and ends every fill begun before it.
func (c *cache) invalidate(drop func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	drop()
}

// dropSession forgets one session (signed out, expired, replaced at sign-in).
func (c *cache) dropSession(id string) {
	c.invalidate(func() { delete(c.sessions, id) })
}

// dropUser forgets the user's sessions (and with them the user row) and token.
func (c *cache) dropUser(userID int64) {
	c.invalidate(func() {
		delete(c.tokens, userID)
		for id, e := range c.sessions {
			if e.v.s.UserID == userID {
				delete(c.sessions, id)
			}
		}
	})
}

// dropToken forgets the user's token (refreshed, rejected or deleted).
func (c *cache) dropToken(userID int64) {
	c.invalidate(func() { delete(c.tokens, userID) })
}
