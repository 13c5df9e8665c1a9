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
	sessions map[string]sessionEntry // by session id
	tokens   map[int64]tokenEntry    // by user id
}

type sessionEntry struct {
	s  store.Session
	u  store.User
	at time.Time
}

type tokenEntry struct {
	tok       coze.AccessToken
	expiresAt time.Time
	at        time.Time
}

// maxCached bounds each map; a full map is swept of stale entries, then
// cleared if that was not enough.
const maxCached = 8192

func newCache(ttl time.Duration) *cache {
	return &cache{ttl: ttl, sessions: map[string]sessionEntry{}, tokens: map[int64]tokenEntry{}}
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
	if c.ttl <= 0 {
		return sessionEntry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.sessions[id]
	if !ok || !c.fresh(e.at, now) {
		return sessionEntry{}, false
	}
	return e, true
}

func (c *cache) putSession(epoch uint64, s store.Session, u store.User, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if len(c.sessions) >= maxCached {
		sweep(c.sessions, func(e sessionEntry) bool { return c.fresh(e.at, now) })
	}
	c.sessions[s.ID] = sessionEntry{s: s, u: u, at: now}
}

func (c *cache) token(userID int64, now time.Time) (tokenEntry, bool) {
	if c.ttl <= 0 {
		return tokenEntry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.tokens[userID]
	if !ok || !c.fresh(e.at, now) {
		return tokenEntry{}, false
	}
	return e, true
}

func (c *cache) putToken(epoch uint64, userID int64, tok coze.AccessToken, expiresAt, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if len(c.tokens) >= maxCached {
		sweep(c.tokens, func(e tokenEntry) bool { return c.fresh(e.at, now) })
	}
	c.tokens[userID] = tokenEntry{tok: tok, expiresAt: expiresAt, at: now}
}

// dropSession forgets one session (signed out, expired, replaced at sign-in).
func (c *cache) dropSession(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	delete(c.sessions, id)
}

// dropUser forgets the user's sessions (and with them the user row) and token.
func (c *cache) dropUser(userID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	delete(c.tokens, userID)
	for id, e := range c.sessions {
		if e.s.UserID == userID {
			delete(c.sessions, id)
		}
	}
}

// dropToken forgets the user's token (refreshed, rejected or deleted).
func (c *cache) dropToken(userID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	delete(c.tokens, userID)
}

// sweep deletes the entries keep refuses; if none went, it clears m.
func sweep[K comparable, V any](m map[K]V, keep func(V) bool) {
	n := len(m)
	for k, v := range m {
		if !keep(v) {
			delete(m, k)
		}
	}
	if len(m) == n {
		clear(m)
	}
}
