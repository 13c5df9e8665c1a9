package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AppState returns the value stored under name; ErrNotFound if there is none.
func (s *Store) AppState(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM app_state WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load app state %s: %w", name, mapErr(err))
	}
	return v, nil
}

// PutAppState stores value under name, replacing what was there.
func (s *Store) PutAppState(ctx context.Context, name string, value []byte) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO app_state (name, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		name, nn(value), ms(time.Now())); err != nil {
		return fmt.Errorf("store app state %s: %w", name, mapErr(err))
	}
	return nil
}
