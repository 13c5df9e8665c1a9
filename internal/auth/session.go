package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coze2app/coze2app/internal/store"
)

// touchEvery bounds how often a session's last_seen is written.
const touchEvery = time.Minute

// writeTimeout bounds writes that must outlive the request (STYLE rule 12).
const writeTimeout = 5 * time.Second

func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
}

// Middleware loads the session named by the cookie (if valid) and its user
// into the request context. It never rejects a request: handlers that need
// a user check UserFrom. An expired session's row is deleted and its cookie
// cleared. Cookie values are never logged.
func (a *Auth) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, s, ok := a.authenticate(w, r); ok {
			r = r.WithContext(WithUser(r.Context(), u, s))
		}
		next.ServeHTTP(w, r)
	})
}

func (a *Auth) authenticate(w http.ResponseWriter, r *http.Request) (store.User, store.Session, bool) {
	ctx := r.Context()
	now := a.now()
	if e, ok := a.cachedSession(r, now); ok {
		a.touch(ctx, &e.s)
		return e.u, e.s, true
	}
	epoch := a.cache.begin()
	s, err := a.cookieSession(ctx, r)
	switch {
	case errors.Is(err, errNoCookie):
		return store.User{}, store.Session{}, false
	case errors.Is(err, ErrUnauthenticated): // unknown, forged or expired
		a.clearCookie(w, a.SessionCookieName())
		return store.User{}, store.Session{}, false
	case err != nil:
		a.log.ErrorContext(ctx, "session lookup failed", "err", err)
		return store.User{}, store.Session{}, false
	}
	u, err := a.store.UserByID(ctx, s.UserID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			a.log.ErrorContext(ctx, "session user lookup failed", "err", err)
		}
		return store.User{}, store.Session{}, false
	}
	a.cache.putSession(epoch, s, u, now)
	a.touch(ctx, &s)
	return u, s, true
}

// cachedSession returns the request's session and user from the cache when
// the cookie's secret matches and the session has not expired; anything else
// takes the full path, which also answers the errors.
func (a *Auth) cachedSession(r *http.Request, now time.Time) (sessionEntry, bool) {
	v, ok := singleCookie(r, a.SessionCookieName())
	if !ok {
		return sessionEntry{}, false
	}
	id, secret, ok := parseSessionCookie(v)
	if !ok {
		return sessionEntry{}, false
	}
	e, ok := a.cache.session(id, now)
	if !ok || !equalHash(e.s.SecretHash, hashSecret(secret)) || a.sessionExpired(e.s) {
		return sessionEntry{}, false
	}
	return e, true
}

var (
	errNoCookie       = errors.New("no session cookie")
	errSessionExpired = fmt.Errorf("session expired: %w", ErrUnauthenticated)
)

// cookieSession returns the session whose id and secret the request's only
// session cookie carries. An expired session is deleted (errSessionExpired).
func (a *Auth) cookieSession(ctx context.Context, r *http.Request) (store.Session, error) {
	v, ok := singleCookie(r, a.SessionCookieName())
	if !ok {
		return store.Session{}, errNoCookie
	}
	id, secret, ok := parseSessionCookie(v)
	if !ok {
		return store.Session{}, fmt.Errorf("malformed session cookie: %w", ErrUnauthenticated)
	}
	s, err := a.store.SessionByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, fmt.Errorf("unknown session: %w", ErrUnauthenticated)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("load session: %w", err)
	}
	// Constant-time: the id is a lookup key, the secret is the credential.
	if !equalHash(s.SecretHash, hashSecret(secret)) {
		return store.Session{}, fmt.Errorf("session secret mismatch: %w", ErrUnauthenticated)
	}
	if a.sessionExpired(s) {
		if err := a.endSession(ctx, s); err != nil {
			a.log.ErrorContext(ctx, "end expired session failed", "err", err)
		}
		return store.Session{}, errSessionExpired
	}
	return s, nil
}

// sessionExpired applies the idle and absolute timeouts (ASVS 7.3.1, 7.3.2).
func (a *Auth) sessionExpired(s store.Session) bool {
	now := a.now()
	return !now.Before(s.ExpiresAt) || now.Sub(s.LastSeenAt) >= a.sessionIdle
}

// touch writes last_seen at most once a minute per session and process.
func (a *Auth) touch(ctx context.Context, s *store.Session) {
	now := a.now()
	if now.Sub(s.LastSeenAt) < touchEvery {
		return
	}
	a.mu.Lock()
	last, ok := a.touched[s.ID]
	if ok && now.Sub(last) < touchEvery {
		a.mu.Unlock()
		return
	}
	if len(a.touched) > 4096 {
		for id, t := range a.touched {
			if now.Sub(t) >= touchEvery {
				delete(a.touched, id)
			}
		}
	}
	a.touched[s.ID] = now
	a.mu.Unlock()
	dctx, cancel := detached(ctx)
	defer cancel()
	if err := a.store.TouchSession(dctx, s.ID, now); err != nil {
		a.log.WarnContext(ctx, "touch session failed", "err", err)
		return
	}
	s.LastSeenAt = now
}

// forgetSession drops what this process keeps of a session that ended: its
// last touch and its cache entry.
func (a *Auth) forgetSession(id string) {
	a.cache.dropSession(id)
	a.mu.Lock()
	delete(a.touched, id)
	a.mu.Unlock()
}

// newSession creates a session for userID and sets its cookie. The id is
// rand.Text() (128 bits), the secret 256 bits; the row keeps sha256(secret).
func (a *Auth) newSession(ctx context.Context, w http.ResponseWriter, r *http.Request, userID int64) (store.Session, error) {
	now := a.now()
	secret, hash := newSecret()
	s := store.Session{
		ID:         rand.Text(),
		UserID:     userID,
		SecretHash: hash,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(a.sessionMax),
		UserAgent:  truncate(r.UserAgent(), 256),
	}
	if err := a.store.CreateSession(ctx, s); err != nil {
		return store.Session{}, fmt.Errorf("create session: %w", err)
	}
	a.setCookie(w, a.SessionCookieName(), s.ID+"."+secret, a.sessionMax)
	return s, nil
}

// SignOut deletes the request's session (ASVS 7.4.1) and clears its cookie.
// When it was the user's last live session, the Coze tokens are deleted too;
// other devices keep their sessions. Without a valid session it only clears
// the cookie.
func (a *Auth) SignOut(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	a.clearCookie(w, a.SessionCookieName())
	s, ok := SessionFrom(ctx)
	if !ok {
		var err error
		s, err = a.cookieSession(ctx, r)
		if errors.Is(err, ErrUnauthenticated) || errors.Is(err, errNoCookie) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sign out: %w", err)
		}
	}
	if err := a.endSession(ctx, s); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	return nil
}

// endSession deletes one session and, when it was the user's last live one,
// their Coze tokens (issue 8 item 8: tokens die with the last session). The
// tokens go under the user lock, after any refresh in flight, and only if
// no session lives then; a refresh that ends later cannot write them back
// (saveTokens requires a live session).
func (a *Auth) endSession(ctx context.Context, s store.Session) error {
	dctx, cancel := detached(ctx)
	defer cancel()
	if err := a.store.DeleteSession(dctx, s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete session: %w", err)
	}
	a.forgetSession(s.ID)
	return a.dropTokensIfSignedOut(ctx, s.UserID)
}

// dropTokensIfSignedOut deletes the user's tokens unless a session lives.
func (a *Auth) dropTokensIfSignedOut(ctx context.Context, userID int64) error {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.lockWait+a.refreshBudget)
	defer cancel()
	return a.store.WithUserLock(lctx, userID, func(ctx context.Context) error {
		now := a.now()
		dropped, err := a.store.DeleteTokensIfSignedOut(ctx, userID, now, now.Add(-a.sessionIdle))
		if err != nil {
			return fmt.Errorf("drop tokens: %w", err)
		}
		if dropped {
			a.cache.dropToken(userID)
			a.mu.Lock()
			delete(a.unsaved, userID)
			delete(a.grantAt, userID)
			a.mu.Unlock()
			a.log.InfoContext(ctx, "coze tokens deleted with the last session", "user_id", userID)
		}
		return nil
	})
}

// SignOutEverywhere ends every session of the request's user and deletes
// their Coze tokens ("Sign out everywhere" in the page).
func (a *Auth) SignOutEverywhere(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	a.clearCookie(w, a.SessionCookieName())
	s, ok := SessionFrom(ctx)
	if !ok {
		return ErrUnauthenticated
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.lockWait+a.refreshBudget)
	defer cancel()
	sessions, err := a.store.UserSessions(lctx, s.UserID)
	if err != nil {
		return fmt.Errorf("sign out everywhere: %w", err)
	}
	err = a.store.WithUserLock(lctx, s.UserID, func(ctx context.Context) error {
		if err := a.store.DeleteUserSessions(ctx, s.UserID); err != nil {
			return err
		}
		return a.dropTokens(ctx, s.UserID)
	})
	if err != nil {
		return fmt.Errorf("sign out everywhere: %w", err)
	}
	for _, o := range sessions {
		a.forgetSession(o.ID)
	}
	a.cache.dropUser(s.UserID)
	a.mu.Lock()
	delete(a.grantAt, s.UserID)
	a.mu.Unlock()
	a.log.InfoContext(ctx, "signed out everywhere", "user_id", s.UserID, "sessions", len(sessions))
	return nil
}

// CheckGrant confirms with Coze, at most once per GrantCheckEvery per user
// and instance, that the user's grant still stands, so a stolen cookie stops
// working on history reads soon after the person revokes the app at Coze
// (issue 8 item 8). A rejected grant clears the user (ErrReauthRequired); a
// Coze outage does not block reading local history.
func (a *Auth) CheckGrant(ctx context.Context, userID int64) error {
	now := a.now()
	a.mu.Lock()
	last, ok := a.grantAt[userID]
	a.mu.Unlock()
	if ok && now.Sub(last) < a.grantEvery {
		return nil
	}
	_, err := a.coze.Me(ctx, a.Source(userID))
	if errors.Is(err, ErrReauthRequired) {
		return err
	}
	if err != nil {
		a.log.WarnContext(ctx, "grant check failed; history stays readable", "user_id", userID, "err", err)
	}
	a.mu.Lock()
	if len(a.grantAt) > 4096 {
		for id, t := range a.grantAt {
			if now.Sub(t) >= a.grantEvery {
				delete(a.grantAt, id)
			}
		}
	}
	a.grantAt[userID] = now
	a.mu.Unlock()
	return nil
}

// SweepExpired deletes expired sessions and pending sign-ins; the app calls
// it periodically.
func (a *Auth) SweepExpired(ctx context.Context) error {
	now := a.now()
	if _, err := a.store.DeleteExpiredSessions(ctx, now.Add(-a.sessionIdle), now); err != nil {
		return fmt.Errorf("sweep sessions: %w", err)
	}
	if _, err := a.store.DeleteExpiredPendingSignIns(ctx, now); err != nil {
		return fmt.Errorf("sweep pending sign-ins: %w", err)
	}
	// Tokens die with the last session, also when it merely expired.
	if n, err := a.store.DeleteOrphanTokens(ctx, now, now.Add(-a.sessionIdle)); err != nil {
		return fmt.Errorf("sweep tokens: %w", err)
	} else if n > 0 {
		a.log.InfoContext(ctx, "coze tokens deleted with expired sessions", "users", n)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
