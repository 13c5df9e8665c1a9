package store

import (
	"context"
	"fmt"
	"time"
)

// PendingSignIn is the server-side half of an OAuth sign-in in progress,
// keyed by the OAuth state. It survives restarts between /auth and /callback.
type PendingSignIn struct {
	State       string
	BindingHash []byte // hash of the browser binding cookie
	Verifier    []byte // sealed PKCE verifier
	ReturnTo    string
	WorkspaceID string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// CreatePendingSignIn stores p. ErrConflict if the state exists.
func (s *Store) CreatePendingSignIn(ctx context.Context, p PendingSignIn) error {
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO pending_sign_ins (state, binding_hash, verifier, return_to, workspace_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		p.State, nn(p.BindingHash), nn(p.Verifier), p.ReturnTo, p.WorkspaceID, ms(orNow(p.CreatedAt)), ms(p.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create pending sign-in: %w", mapErr(err))
	}
	return nil
}

// TakePendingSignIn deletes and returns the pending sign-in in one statement,
// so a state can be used once even when callbacks race: exactly one caller
// gets the row, the others get ErrNotFound. An expired row is still returned
// (and deleted); the caller checks ExpiresAt.
func (s *Store) TakePendingSignIn(ctx context.Context, state string) (PendingSignIn, error) {
	var p PendingSignIn
	var c, e int64
	err := s.w.QueryRowContext(ctx, `
		DELETE FROM pending_sign_ins WHERE state = $1
		RETURNING state, binding_hash, verifier, return_to, workspace_id, created_at, expires_at`, state,
	).Scan(&p.State, &p.BindingHash, &p.Verifier, &p.ReturnTo, &p.WorkspaceID, &c, &e)
	if err != nil {
		return PendingSignIn{}, fmt.Errorf("take pending sign-in: %w", mapErr(err))
	}
	p.CreatedAt, p.ExpiresAt = fromMS(c), fromMS(e)
	return p, nil
}

// DeleteExpiredPendingSignIns removes rows with ExpiresAt <= now and returns
// how many.
func (s *Store) DeleteExpiredPendingSignIns(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.execCount(ctx, `DELETE FROM pending_sign_ins WHERE expires_at <= $1`, ms(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired pending sign-ins: %w", err)
	}
	return n, nil
}

// CountPendingSignIns returns the number of stored pending sign-ins (for a
// cap against state flooding and for metrics).
func (s *Store) CountPendingSignIns(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pending_sign_ins`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending sign-ins: %w", mapErr(err))
	}
	return n, nil
}

// CountLivePendingSignIns counts the pending sign-ins that have not expired
// at now; with bindingHash set, only those of that browser. Sign-in caps
// use it (issue 8 item 2).
func (s *Store) CountLivePendingSignIns(ctx context.Context, now time.Time, bindingHash []byte) (int64, error) {
	var n int64
	var err error
	if bindingHash == nil {
		err = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pending_sign_ins WHERE expires_at > $1`, ms(now)).Scan(&n)
	} else {
		err = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pending_sign_ins WHERE expires_at > $1 AND binding_hash = $2`,
			ms(now), bindingHash).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("count pending sign-ins: %w", mapErr(err))
	}
	return n, nil
}
