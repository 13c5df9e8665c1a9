package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"syscall"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// refreshLife is our estimate of a refresh token's life (coze-protocol §5: 30
// days, not returned on the wire). It is recorded, never enforced: Coze
// decides.
const refreshLife = 30 * 24 * time.Hour

// flight is one in-process refresh of one user's tokens. Callers wait on
// done; the refresh itself runs on a detached context, so the caller that
// started it may leave without cancelling it (catalog case 37).
type flight struct {
	done chan struct{}
	tok  coze.AccessToken
	err  error
}

// AccessToken returns a valid access token for userID, refreshing it first
// when it expires within RefreshSkew (catalog case 32). At most one refresh
// per user runs at a time: in-process (one flight per user) and across
// instances (store.WithUserLock). Errors: ErrReauthRequired (grant gone;
// tokens and sessions deleted), ErrRefreshUnavailable (retry later).
func (a *Auth) AccessToken(ctx context.Context, userID int64) (coze.AccessToken, error) {
	if !a.hasUnsaved(userID) {
		now := a.now()
		if e, ok := a.cache.token(userID, now); ok && !a.expiring(e.expiresAt) {
			return e.tok, nil
		}
		epoch := a.cache.begin()
		row, err := a.store.TokensByUser(ctx, userID)
		if errors.Is(err, store.ErrNotFound) {
			a.clearUser(ctx, userID, "no_tokens")
			return "", fmt.Errorf("access token: no tokens stored: %w", ErrReauthRequired)
		}
		if err != nil {
			return "", fmt.Errorf("access token: load: %w", err)
		}
		acc, _, err := a.sealer.Open(row.Access, accessAD(userID))
		if err != nil {
			a.clearUser(ctx, userID, "undecryptable")
			return "", fmt.Errorf("access token: open: %w", ErrReauthRequired)
		}
		if !a.expiring(row.AccessExpiresAt) {
			// Cached only after it opened as this user's (catalog case 27).
			a.cache.putToken(epoch, userID, coze.AccessToken(acc), row.AccessExpiresAt, now)
			return coze.AccessToken(acc), nil
		}
	}
	return a.refresh(ctx, userID, "")
}

// Source returns userID's token source for the Coze client, which owns
// "refresh once, retry once" (coze.TokenSource). Token is AccessToken (a
// proactive refresh near expiry); Rejected is the reactive refresh after Coze
// refused a token (catalog case 33).
func (a *Auth) Source(userID int64) coze.TokenSource { return userSource{a: a, userID: userID} }

type userSource struct {
	a      *Auth
	userID int64
}

func (s userSource) Token(ctx context.Context) (coze.AccessToken, error) {
	return s.a.AccessToken(ctx, s.userID)
}

// Rejected refreshes once, unless the stored token already differs from the
// one that failed. A token that is not replaced, or a refused replacement
// (again), means the grant is unusable: tokens and sessions are deleted and
// ErrReauthRequired returned, with no loop.
func (s userSource) Rejected(ctx context.Context, tok coze.AccessToken, again bool) (coze.AccessToken, error) {
	a, userID := s.a, s.userID
	if again {
		a.clearUser(ctx, userID, "token_rejected_after_refresh")
		return "", fmt.Errorf("access token rejected after refresh: %w", ErrReauthRequired)
	}
	a.log.InfoContext(ctx, "access token rejected", "user_id", userID)
	next, err := a.refresh(ctx, userID, tok)
	if err == nil && next == tok {
		// We joined a flight that started before our failure; force our own.
		next, err = a.refresh(ctx, userID, tok)
	}
	if err != nil {
		return "", err
	}
	if next == tok {
		a.clearUser(ctx, userID, "token_rejected")
		return "", fmt.Errorf("access token rejected and not refreshed: %w", ErrReauthRequired)
	}
	return next, nil
}

// expiring reports an access token due for refresh. An unknown expiry (zero)
// is refreshed only when Coze rejects the token.
func (a *Auth) expiring(at time.Time) bool {
	return !at.IsZero() && at.Sub(a.now()) <= a.skew
}

func (a *Auth) hasUnsaved(userID int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.unsaved[userID]
	return ok
}

// refresh joins (or starts) the user's flight and waits for it at most
// LockWait. failed, if set, is an access token Coze rejected: the flight
// then refreshes even if that token looks unexpired, unless the stored one
// already differs.
func (a *Auth) refresh(ctx context.Context, userID int64, failed coze.AccessToken) (coze.AccessToken, error) {
	a.mu.Lock()
	f := a.flights[userID]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		a.flights[userID] = f
		a.wg.Add(1)
		go a.fly(context.WithoutCancel(ctx), userID, failed, f)
	}
	a.mu.Unlock()

	t := time.NewTimer(a.lockWait)
	defer t.Stop()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("wait for token refresh: %w", context.Cause(ctx))
	case <-t.C:
		a.log.WarnContext(ctx, "token refresh wait timed out", "user_id", userID)
		return "", ErrRefreshBusy
	}
}

// fly runs one refresh under the cross-instance user lock (STYLE rule 11:
// lock, reload, re-check, refresh, persist, unlock, use).
func (a *Auth) fly(ctx context.Context, userID int64, failed coze.AccessToken, f *flight) {
	defer a.wg.Done()
	ctx, cancel := context.WithTimeout(ctx, a.lockWait+a.refreshBudget)
	defer cancel()
	var err error
	// Bound refreshes in flight per instance: the token endpoint and the
	// database pool must not see one call per user when many expire at once
	// (catalog case 62). A slot is taken before the user lock, so a waiter
	// holds no database connection.
	select {
	case a.slots <- struct{}{}:
		err = a.store.WithUserLock(ctx, userID, func(ctx context.Context) error {
			var err error
			f.tok, err = a.refreshLocked(ctx, userID, failed)
			return err
		})
		<-a.slots
	case <-ctx.Done():
		err = fmt.Errorf("token refresh: wait for a refresh slot: %w: %w", ErrRefreshUnavailable, ctx.Err())
	}
	if err != nil {
		f.tok = ""
		if !errors.Is(err, ErrReauthRequired) && !errors.Is(err, ErrRefreshUnavailable) {
			a.log.ErrorContext(ctx, "token refresh lock failed", "user_id", userID, "err", err)
			err = fmt.Errorf("token refresh: %w: %w", ErrRefreshUnavailable, err)
		}
	}
	f.err = err
	// Whatever the outcome, the next use reads the row again: refreshed,
	// rejected or deleted, the cached token is no longer the one to send.
	a.cache.dropToken(userID)
	a.mu.Lock()
	if a.flights[userID] == f {
		delete(a.flights, userID)
	}
	a.mu.Unlock()
	close(f.done)
}

func (a *Auth) refreshLocked(ctx context.Context, userID int64, failed coze.AccessToken) (coze.AccessToken, error) {
	a.mu.Lock()
	cur, unsaved := a.unsaved[userID]
	a.mu.Unlock()
	if unsaved {
		// A pair Coze already rotated to but we could not store: store it
		// now; refreshing with the old refresh token would sign the user out.
		if err := a.persist(ctx, userID, cur); err != nil {
			return "", err
		}
	} else {
		row, err := a.store.TokensByUser(ctx, userID)
		if errors.Is(err, store.ErrNotFound) {
			a.clearUser(ctx, userID, "no_tokens")
			return "", fmt.Errorf("token refresh: no tokens stored: %w", ErrReauthRequired)
		}
		if err != nil {
			return "", fmt.Errorf("token refresh: reload: %w: %w", ErrRefreshUnavailable, err)
		}
		cur, err = a.openTokens(row)
		if err != nil {
			a.clearUser(ctx, userID, "undecryptable")
			return "", fmt.Errorf("token refresh: %w", ErrReauthRequired)
		}
	}
	// Re-check after the lock: another goroutine or instance may have
	// refreshed already; then just use its pair.
	if !a.expiring(cur.ExpiresAt) && (failed == "" || cur.AccessToken != failed) {
		return cur.AccessToken, nil
	}

	rctx, cancel := context.WithTimeout(ctx, a.refreshBudget)
	defer cancel()
	next, err := a.coze.RefreshToken(rctx, cur.RefreshToken)
	if err != nil && connLost(err) {
		// The request may have reached Coze, which then rotated the pair
		// (catalog case 41). One retry with the same refresh token tells:
		// it succeeds if Coze never saw the first one, else it is rejected.
		a.log.WarnContext(ctx, "refresh response lost", "user_id", userID, "err", err)
		next, err = a.coze.RefreshToken(rctx, cur.RefreshToken)
	}
	switch {
	case err == nil:
	case coze.IsFatalOAuth(err):
		a.onRefresh("fatal")
		a.log.WarnContext(ctx, "token refresh rejected", "user_id", userID, "err", err)
		a.clearUser(ctx, userID, "refresh_rejected")
		return "", fmt.Errorf("token refresh: %w: %w", ErrReauthRequired, err)
	default:
		a.onRefresh("transient")
		a.log.WarnContext(ctx, "token refresh failed", "user_id", userID, "err", err)
		return "", fmt.Errorf("token refresh: %w: %w", ErrRefreshUnavailable, err)
	}
	if err := a.persist(ctx, userID, next); err != nil {
		a.onRefresh("transient")
		return "", err
	}
	a.onRefresh("ok")
	a.log.InfoContext(ctx, "token refreshed", "user_id", userID)
	return next.AccessToken, nil
}

// persist stores a rotated pair before it is used. On failure the pair is
// kept in memory (so no later refresh sends the dead refresh token) and
// stored on the next call.
func (a *Auth) persist(ctx context.Context, userID int64, t coze.Token) error {
	// The pair Coze just rotated to must land: give the write the whole
	// refresh budget, not the 5 s of ordinary writes.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.refreshBudget)
	defer cancel()
	if err := a.saveTokens(wctx, userID, t); err != nil {
		if errors.Is(err, errSignedOut) {
			// Signed out while the refresh ran: the new pair dies here.
			a.log.InfoContext(ctx, "refreshed tokens dropped: the user signed out", "user_id", userID)
			a.mu.Lock()
			delete(a.unsaved, userID)
			a.mu.Unlock()
			return err
		}
		a.mu.Lock()
		a.unsaved[userID] = t
		a.mu.Unlock()
		a.log.ErrorContext(ctx, "persist refreshed tokens failed", "user_id", userID, "err", err)
		return fmt.Errorf("token refresh: %w: %w", ErrRefreshUnavailable, err)
	}
	a.mu.Lock()
	delete(a.unsaved, userID)
	a.mu.Unlock()
	return nil
}

// connLost reports a token call whose connection died without an HTTP
// answer (reset or EOF after the request was written).
func connLost(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var oe *coze.OAuthError
	if errors.As(err, &oe) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// Associated data binds each ciphertext to its user and column (ASVS
// 11.3.3): a row copied to another user, or access swapped with refresh,
// does not open.
func accessAD(userID int64) []byte {
	return []byte("user:" + strconv.FormatInt(userID, 10) + ":access")
}

func refreshAD(userID int64) []byte {
	return []byte("user:" + strconv.FormatInt(userID, 10) + ":refresh")
}

// saveTokens seals t under the active key and upserts the row.
func (a *Auth) saveTokens(ctx context.Context, userID int64, t coze.Token) error {
	acc, err := a.sealer.Seal([]byte(string(t.AccessToken)), accessAD(userID))
	if err != nil {
		return fmt.Errorf("seal access token: %w", err)
	}
	ref, err := a.sealer.Seal([]byte(string(t.RefreshToken)), refreshAD(userID))
	if err != nil {
		return fmt.Errorf("seal refresh token: %w", err)
	}
	now := a.now()
	err = a.store.PutTokensIfSignedIn(ctx, store.Tokens{
		UserID:           userID,
		KeyID:            a.sealer.ActiveKeyID(),
		Access:           acc,
		Refresh:          ref,
		AccessExpiresAt:  t.ExpiresAt,
		RefreshExpiresAt: now.Add(refreshLife),
		UpdatedAt:        now,
	}, now, now.Add(-a.sessionIdle))
	if errors.Is(err, store.ErrNotFound) {
		return errSignedOut
	}
	if err != nil {
		return fmt.Errorf("store tokens: %w", err)
	}
	return nil
}

// errSignedOut: the user's last session ended, so their tokens are not kept.
var errSignedOut = fmt.Errorf("no live session, tokens not kept: %w", ErrReauthRequired)

func (a *Auth) openTokens(row store.Tokens) (coze.Token, error) {
	acc, _, err := a.sealer.Open(row.Access, accessAD(row.UserID))
	if err != nil {
		return coze.Token{}, fmt.Errorf("open access token: %w", err)
	}
	ref, _, err := a.sealer.Open(row.Refresh, refreshAD(row.UserID))
	if err != nil {
		return coze.Token{}, fmt.Errorf("open refresh token: %w", err)
	}
	return coze.Token{
		AccessToken:  coze.AccessToken(acc),
		RefreshToken: coze.RefreshToken(ref),
		ExpiresAt:    row.AccessExpiresAt,
	}, nil
}

// clearUser ends the user's Coze grant here: tokens and every session go
// (the session ends when the refresh token dies, [BFF]).
func (a *Auth) clearUser(ctx context.Context, userID int64, reason string) {
	ctx, cancel := detached(ctx)
	defer cancel()
	a.log.WarnContext(ctx, "coze grant cleared", "user_id", userID, "reason", reason)
	if err := a.dropTokens(ctx, userID); err != nil {
		a.log.ErrorContext(ctx, "clear user tokens failed", "user_id", userID, "err", err)
	}
	if err := a.store.DeleteUserSessions(ctx, userID); err != nil && !errors.Is(err, store.ErrNotFound) {
		a.log.ErrorContext(ctx, "clear user sessions failed", "user_id", userID, "err", err)
	}
	a.cache.dropUser(userID)
}

func (a *Auth) dropTokens(ctx context.Context, userID int64) error {
	a.cache.dropToken(userID)
	a.mu.Lock()
	delete(a.unsaved, userID)
	a.mu.Unlock()
	if err := a.store.DeleteTokens(ctx, userID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete tokens: %w", err)
	}
	return nil
}
