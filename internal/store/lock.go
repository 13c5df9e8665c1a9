package store

import (
	"context"
	"fmt"
)

// WithUserLock runs fn while holding a lock for userID that is shared by every
// instance using the same database.
//
// On PostgreSQL it opens a transaction on a connection of its own (from a
// separate small pool, so lock holders never starve the main pool), runs
// SELECT pg_advisory_xact_lock(key) — waiting until any other holder commits,
// or until ctx ends — then runs fn and commits. fn must do its work through
// the Store's normal methods (which use other connections), not expect to be
// inside the lock's transaction. The lock is transaction-scoped, so it is
// released on commit, on rollback and when the process or connection dies.
//
// On SQLite there is one process per database file, so it just runs fn; the
// caller's in-process per-user mutex gives mutual exclusion.
//
// ctx bounds the wait for the lock (the error then wraps ctx.Err()). Once
// acquired, the lock is held until fn returns, even if ctx ends meanwhile.
// The error from fn is returned unwrapped.
func (s *Store) WithUserLock(ctx context.Context, userID int64, fn func(ctx context.Context) error) error {
	if s.dialect != postgres {
		return fn(ctx)
	}
	conn, err := s.lockDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("lock user %d: %w", userID, err)
	}
	defer conn.Close()
	// The transaction is not bound to ctx: database/sql would roll it back
	// (dropping the lock) the moment ctx ends, while fn may still be running,
	// e.g. persisting a rotated token pair under a detached context.
	tx, err := conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return fmt.Errorf("lock user %d: %w", userID, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	// pgx cancels the wait when ctx ends (the connection is then discarded).
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, userLockKey(userID)); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("lock user %d: %w", userID, ctxErr)
		}
		return fmt.Errorf("lock user %d: %w", userID, err)
	}
	fnErr := fn(ctx)
	committed = true
	// The transaction holds nothing but the lock, and fn wrote through other
	// connections, so a failed commit or rollback only means the lock is
	// already gone (dead connection); it is not fn's failure.
	if fnErr != nil {
		_ = tx.Rollback()
		return fnErr
	}
	_ = tx.Commit()
	return nil
}
