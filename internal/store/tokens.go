package store

import (
	"context"
	"fmt"
	"time"
)

// Tokens is a user's Coze token pair, sealed by the caller (internal/seal).
// The store never sees plaintext.
type Tokens struct {
	UserID           int64
	KeyID            string // seal key id the pair was sealed with
	Access           []byte // ciphertext
	Refresh          []byte // ciphertext
	AccessExpiresAt  time.Time
	RefreshExpiresAt time.Time
	UpdatedAt        time.Time
}

// replaceTokens ends both token writes: the new pair replaces the user's row whole.
const replaceTokens = `
		ON CONFLICT (user_id) DO UPDATE SET
			key_id = excluded.key_id,
			access = excluded.access,
			refresh = excluded.refresh,
			access_expires_at = excluded.access_expires_at,
			refresh_expires_at = excluded.refresh_expires_at,
			updated_at = excluded.updated_at`

// PutTokens inserts or replaces the user's pair in one statement, so after a
// crash the row holds the old pair or the new pair, never a mix
// (SECURITY-CATALOG J.66). ErrNotFound if the user does not exist.
func (s *Store) PutTokens(ctx context.Context, t Tokens) error {
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO coze_tokens (user_id, key_id, access, refresh, access_expires_at, refresh_expires_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`+replaceTokens,
		t.UserID, t.KeyID, nn(t.Access), nn(t.Refresh), ms(t.AccessExpiresAt), ms(t.RefreshExpiresAt), ms(orNow(t.UpdatedAt)))
	if err != nil {
		return fmt.Errorf("put tokens of user %d: %w", t.UserID, mapErr(err))
	}
	return nil
}

// TokensByUser returns the user's pair, or ErrNotFound.
func (s *Store) TokensByUser(ctx context.Context, userID int64) (Tokens, error) {
	var t Tokens
	var a, r, u int64
	err := s.db.QueryRowContext(ctx, `
		SELECT user_id, key_id, access, refresh, access_expires_at, refresh_expires_at, updated_at
		FROM coze_tokens WHERE user_id = $1`, userID,
	).Scan(&t.UserID, &t.KeyID, &t.Access, &t.Refresh, &a, &r, &u)
	if err != nil {
		return Tokens{}, fmt.Errorf("tokens of user %d: %w", userID, mapErr(err))
	}
	t.AccessExpiresAt, t.RefreshExpiresAt, t.UpdatedAt = fromMS(a), fromMS(r), fromMS(u)
	return t, nil
}

// DeleteTokens removes the user's pair; deleting a missing pair is not an error.
func (s *Store) DeleteTokens(ctx context.Context, userID int64) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM coze_tokens WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("delete tokens of user %d: %w", userID, mapErr(err))
	}
	return nil
}

// PutTokensIfSignedIn stores the pair like PutTokens, but only while the user
// has a live session (expires_at > now and last_seen_at >= idleBefore), in
// one statement: a refresh that finishes after the last session ended cannot
// write the tokens back (issue 8 item 8). ErrNotFound when no session lives.
func (s *Store) PutTokensIfSignedIn(ctx context.Context, t Tokens, now, idleBefore time.Time) error {
	res, err := s.w.ExecContext(ctx, `
		INSERT INTO coze_tokens (user_id, key_id, access, refresh, access_expires_at, refresh_expires_at, updated_at)
		SELECT $1, $2, $3, $4, $5, $6, $7
		WHERE EXISTS (SELECT 1 FROM sessions WHERE user_id = $1 AND expires_at > $8 AND last_seen_at >= $9)`+replaceTokens,
		t.UserID, t.KeyID, nn(t.Access), nn(t.Refresh), ms(t.AccessExpiresAt), ms(t.RefreshExpiresAt), ms(orNow(t.UpdatedAt)),
		ms(now), ms(idleBefore))
	if err := affectedOne(res, err); err != nil {
		return fmt.Errorf("put tokens of user %d: %w", t.UserID, err)
	}
	return nil
}

// DeleteTokensIfSignedOut removes the user's pair unless a session still
// lives (see PutTokensIfSignedIn), and reports whether it did.
func (s *Store) DeleteTokensIfSignedOut(ctx context.Context, userID int64, now, idleBefore time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM coze_tokens WHERE user_id = $1
		AND NOT EXISTS (SELECT 1 FROM sessions WHERE user_id = $1 AND expires_at > $2 AND last_seen_at >= $3)`,
		userID, ms(now), ms(idleBefore))
	if err != nil {
		return false, fmt.Errorf("delete tokens of user %d: %w", userID, mapErr(err))
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteOrphanTokens removes the pairs of every user without a live session
// (the expiry sweep) and returns how many.
func (s *Store) DeleteOrphanTokens(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	n, err := s.execCount(ctx, `DELETE FROM coze_tokens WHERE NOT EXISTS
		(SELECT 1 FROM sessions s WHERE s.user_id = coze_tokens.user_id AND s.expires_at > $1 AND s.last_seen_at >= $2)`,
		ms(now), ms(idleBefore))
	if err != nil {
		return 0, fmt.Errorf("delete orphan tokens: %w", err)
	}
	return n, nil
}
