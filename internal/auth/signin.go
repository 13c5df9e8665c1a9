package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// BeginSignIn starts the OAuth code flow (coze-protocol §6–§7): it stores a
// pending sign-in keyed by a fresh state, bound to this browser by the
// binding cookie, with the PKCE verifier sealed, and returns the Coze
// authorize URL to redirect to. returnTo is sanitised with SafeReturnTo;
// workspaceID must be "" or 1–30 digits (else ErrBadWorkspace). The
// redirect_uri is the configured one only (never Host / X-Forwarded-*).
func (a *Auth) BeginSignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, returnTo, workspaceID string) (string, error) {
	if !validWorkspaceID(workspaceID) {
		return "", ErrBadWorkspace
	}
	now := a.now()
	state := rand.Text()

	// Reuse this browser's binding secret so that a second tab's sign-in
	// does not orphan the first one (catalog case 5).
	b, ok := binding{}, false
	if v, one := singleCookie(r, a.BindingCookieName()); one {
		b, ok = parseBinding(v)
	}
	if !ok {
		b.secret, _ = newSecret()
	}
	if err := a.checkPendingCaps(ctx, now, b, ok); err != nil {
		return "", err
	}

	var challenge string
	sealed := []byte{}
	if a.pkce {
		verifier := coze.NewPKCEVerifier() // 43 chars, RFC 7636 §4.1
		challenge = coze.PKCEChallengeS256(verifier)
		var err error
		sealed, err = a.sealer.Seal([]byte(verifier), pkceAD(state))
		if err != nil {
			return "", fmt.Errorf("begin sign-in: seal verifier: %w", err)
		}
	}
	p := store.PendingSignIn{
		State:       state,
		BindingHash: hashSecret(b.secret),
		Verifier:    sealed,
		ReturnTo:    SafeReturnTo(returnTo),
		WorkspaceID: workspaceID,
		CreatedAt:   now,
		ExpiresAt:   now.Add(a.pendingTTL),
	}
	if err := a.store.CreatePendingSignIn(ctx, p); err != nil {
		return "", fmt.Errorf("begin sign-in: store pending: %w", err)
	}
	b.add(state)
	a.setCookie(w, a.BindingCookieName(), b.String(), a.pendingTTL)
	return a.coze.AuthorizeURL(coze.AuthorizeParams{
		State:         state,
		CodeChallenge: challenge,
		WorkspaceID:   workspaceID,
	}), nil
}

// checkPendingCaps bounds the pending sign-ins a flood can create: per
// browser (a known binding) and in all (issue 8 item 2). Concurrent starts
// may pass a cap by a few; the bound holds within that.
func (a *Auth) checkPendingCaps(ctx context.Context, now time.Time, b binding, known bool) error {
	if known {
		n, err := a.store.CountLivePendingSignIns(ctx, now, hashSecret(b.secret))
		if err != nil {
			return fmt.Errorf("begin sign-in: %w", err)
		}
		if n >= a.maxPerBrowser {
			a.log.WarnContext(ctx, "sign-in refused", "reason", "browser_cap", "pending", n)
			return fmt.Errorf("begin sign-in: %d pending in this browser: %w", n, ErrTooManySignIns)
		}
	}
	n, err := a.store.CountLivePendingSignIns(ctx, now, nil)
	if err != nil {
		return fmt.Errorf("begin sign-in: %w", err)
	}
	if n >= a.maxPending {
		a.log.WarnContext(ctx, "sign-in refused", "reason", "global_cap", "pending", n)
		return fmt.Errorf("begin sign-in: %d pending in all: %w", n, ErrTooManySignIns)
	}
	return nil
}

func pkceAD(state string) []byte { return []byte("pkce:" + state) }

// FinishSignIn handles the OAuth callback. The state is checked first —
// it must exist (and is consumed atomically), be unexpired and be bound to
// this browser — before any token request. Then the code is exchanged (with
// the verifier), the Coze user is upserted, the token pair is sealed and
// stored, any previous session of this browser is deleted (fixation) and a
// new session cookie is set. It returns the sanitised return_to.
//
// Errors: ErrStateInvalid (missing/unknown/used/foreign state, or no code),
// ErrStateExpired, ErrConsentDenied (error= from Coze), ErrExchangeFailed.
func (a *Auth) FinishSignIn(ctx context.Context, w http.ResponseWriter, r *http.Request) (string, error) {
	cb, err := parseCallback(r.URL.RawQuery)
	if err != nil {
		a.log.WarnContext(ctx, "oauth callback rejected", "reason", "malformed", "remote_addr", r.RemoteAddr)
		return "", err
	}
	p, err := a.store.TakePendingSignIn(ctx, cb.State)
	if errors.Is(err, store.ErrNotFound) {
		a.log.WarnContext(ctx, "oauth callback rejected", "reason", "unknown_state", "remote_addr", r.RemoteAddr)
		return "", fmt.Errorf("finish sign-in: unknown or used state: %w", ErrStateInvalid)
	}
	if err != nil {
		return "", fmt.Errorf("finish sign-in: take pending: %w", err)
	}
	b, hasBinding := binding{}, false
	if v, one := singleCookie(r, a.BindingCookieName()); one {
		b, hasBinding = parseBinding(v)
	}
	// Whatever happens next, this state is spent; keep the cookie only for
	// the browser's other pending sign-ins.
	a.releaseBinding(w, b, hasBinding, cb.State)

	if !a.now().Before(p.ExpiresAt) {
		return "", fmt.Errorf("finish sign-in: %w", ErrStateExpired)
	}
	if !hasBinding || !equalHash(p.BindingHash, hashSecret(b.secret)) {
		a.log.WarnContext(ctx, "oauth callback rejected", "reason", "binding_mismatch", "remote_addr", r.RemoteAddr)
		return "", fmt.Errorf("finish sign-in: state not bound to this browser: %w", ErrStateInvalid)
	}
	if cb.Error != "" {
		a.log.InfoContext(ctx, "oauth consent denied", "oauth_error", cb.Error)
		return "", fmt.Errorf("finish sign-in: %w", ErrConsentDenied)
	}
	if cb.Code == "" {
		return "", fmt.Errorf("finish sign-in: callback without code: %w", ErrStateInvalid)
	}
	// The verifier goes only with a code whose sign-in sent a challenge, that
	// is when PKCE was in effect at BeginSignIn (never for a web app under
	// PKCEAuto); a config change across a restart does not strand the code.
	var verifier string
	if len(p.Verifier) > 0 {
		v, _, err := a.sealer.Open(p.Verifier, pkceAD(p.State))
		if err != nil {
			return "", fmt.Errorf("finish sign-in: open verifier: %w", ErrExchangeFailed)
		}
		verifier = string(v)
	}

	tok, err := a.coze.ExchangeCode(ctx, cb.Code, verifier)
	if err != nil {
		a.log.WarnContext(ctx, "oauth code exchange failed", "err", err)
		return "", fmt.Errorf("finish sign-in: exchange code: %w: %w", ErrExchangeFailed, err)
	}
	cu, err := a.coze.Me(ctx, tok.AccessToken)
	if err != nil {
		a.log.WarnContext(ctx, "oauth user lookup failed", "err", err)
		return "", fmt.Errorf("finish sign-in: current user: %w: %w", ErrExchangeFailed, err)
	}

	// Who may use this deployment is decided before anything is stored: a
	// refused person gets no user row, no session, and their tokens are
	// dropped here (issue 8 item 5).
	if err := a.admit(ctx, tok.AccessToken, cu.UserID); err != nil {
		return "", fmt.Errorf("finish sign-in: %w", err)
	}

	// From here on the code is spent at Coze: finish even if the browser leaves.
	ctx, cancel := detached(ctx)
	defer cancel()
	name := cu.NickName
	if name == "" {
		name = cu.UserName
	}
	u, err := a.store.UpsertUser(ctx, store.User{
		CozeUserID: cu.UserID,
		Region:     a.region,
		Name:       name,
		AvatarURL:  cu.AvatarURL,
	})
	if err != nil {
		return "", fmt.Errorf("finish sign-in: upsert user: %w", err)
	}
	// Session fixation: never adopt the browser's old session (ASVS 7.2.4).
	if old, err := a.cookieSession(ctx, r); err == nil {
		if err := a.store.DeleteSession(ctx, old.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("finish sign-in: delete old session: %w", err)
		}
		a.forgetSession(old.ID)
	}
	// The session first, then the tokens: tokens are kept only while a
	// session lives (issue 8 item 8).
	s, err := a.newSession(ctx, w, r, u.ID)
	if err != nil {
		return "", fmt.Errorf("finish sign-in: %w", err)
	}
	if err := a.saveTokens(ctx, u.ID, tok); err != nil {
		_ = a.store.DeleteSession(ctx, s.ID)
		a.clearCookie(w, a.SessionCookieName())
		return "", fmt.Errorf("finish sign-in: %w", err)
	}
	// A fresh grant replaces whatever an earlier failed write left in memory,
	// and the user row and token this instance cached.
	a.cache.dropUser(u.ID)
	a.mu.Lock()
	delete(a.unsaved, u.ID)
	a.grantAt[u.ID] = a.now()
	a.mu.Unlock()
	a.log.InfoContext(ctx, "signed in", "user_id", u.ID)
	return p.ReturnTo, nil
}

// admit applies the allow-list: a listed user id, or membership of a listed
// workspace. Without a list everyone is admitted.
func (a *Auth) admit(ctx context.Context, tok coze.AccessToken, cozeUserID string) error {
	if len(a.allowUsers) == 0 && len(a.allowSpaces) == 0 || a.allowUsers[cozeUserID] {
		return nil
	}
	if len(a.allowSpaces) > 0 {
		spaces, err := a.coze.AllWorkspaces(ctx, tok)
		if err != nil {
			a.log.WarnContext(ctx, "allow-list: workspace list failed", "coze_user_id", cozeUserID, "err", err)
			return fmt.Errorf("allow-list: list workspaces: %w: %w", ErrExchangeFailed, err)
		}
		for _, w := range spaces {
			if a.allowSpaces[w.ID] {
				return nil
			}
		}
	}
	a.log.WarnContext(ctx, "sign-in refused by the allow-list", "coze_user_id", cozeUserID)
	return &NotAllowedError{CozeUserID: cozeUserID}
}

// releaseBinding drops state from the binding cookie and clears the cookie
// when no other pending sign-in of this browser needs it.
func (a *Auth) releaseBinding(w http.ResponseWriter, b binding, ok bool, state string) {
	if !ok {
		return
	}
	b.remove(state)
	if len(b.states) == 0 {
		a.clearCookie(w, a.BindingCookieName())
		return
	}
	a.setCookie(w, a.BindingCookieName(), b.String(), a.pendingTTL)
}
