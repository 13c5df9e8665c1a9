package store

import (
	"context"
	"fmt"
	"time"
)

// Session is a browser session. The cookie carries "ID.secret"; only
// sha256(secret) is stored (STYLE rule 9). Errors never name the ID: they
// reach logs (issue 8 item 11).
type Session struct {
	ID         string
	UserID     int64
	SecretHash []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	UserAgent  string
}

const sessionCols = `id, user_id, secret_hash, created_at, last_seen_at, expires_at, user_agent`

// CreateSession stores a new session. ErrConflict if the ID exists,
// ErrNotFound if the user does not.
func (s *Store) CreateSession(ctx context.Context, ss Session) error {
	created := orNow(ss.CreatedAt)
	lastSeen := ss.LastSeenAt
	if lastSeen.IsZero() {
		lastSeen = created
	}
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO sessions (id, user_id, secret_hash, created_at, last_seen_at, expires_at, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ss.ID, ss.UserID, nn(ss.SecretHash), ms(created), ms(lastSeen), ms(ss.ExpiresAt), ss.UserAgent)
	if err != nil {
		return fmt.Errorf("create session: %w", mapErr(err))
	}
	return nil
}

// SessionByID returns the session whatever its expiry; callers check
// ExpiresAt and LastSeenAt. ErrNotFound if absent.
func (s *Store) SessionByID(ctx context.Context, id string) (Session, error) {
	ss, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return Session{}, fmt.Errorf("load session: %w", mapErr(err))
	}
	return ss, nil
}

// TouchSession sets LastSeenAt. ErrNotFound if the session is gone.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1`, id, ms(at))
	if err := affectedOne(res, err); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession removes one session. Deleting a missing session is not an
// error, so sign-out is idempotent.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete session: %w", mapErr(err))
	}
	return nil
}

// DeleteUserSessions removes every session of the user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("delete sessions of user %d: %w", userID, mapErr(err))
	}
	return nil
}

// UserSessions lists the user's sessions, newest first.
func (s *Store) UserSessions(ctx context.Context, userID int64) ([]Session, error) {
	out, err := queryAll(ctx, s.db, scanSession, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = $1 ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("sessions of user %d: %w", userID, err)
	}
	return out, nil
}

// DeleteExpiredSessions removes sessions past their absolute expiry
// (ExpiresAt <= now) or idle since before idleBefore, and returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, idleBefore, now time.Time) (int64, error) {
	n, err := s.execCount(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2`, ms(now), ms(idleBefore))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}

func scanSession(r scanner) (Session, error) {
	var ss Session
	var c, l, e int64
	if err := r.Scan(&ss.ID, &ss.UserID, &ss.SecretHash, &c, &l, &e, &ss.UserAgent); err != nil {
		return Session{}, err
	}
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = fromMS(c), fromMS(l), fromMS(e)
	return ss, nil
}
