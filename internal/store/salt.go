package store

import (
	"context"
	"fmt"
	"time"
)

// SealSalt returns the stored salt of the passphrase KDF, storing fresh first
// if there is none yet. Instances starting together on one PostgreSQL agree:
// the first insert wins and everyone reads the winner.
func (s *Store) SealSalt(ctx context.Context, fresh []byte) ([]byte, error) {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO seal_salt (id, salt, created_at) VALUES (1, $1, $2)
		ON CONFLICT (id) DO NOTHING`, nn(fresh), ms(time.Now())); err != nil {
		return nil, fmt.Errorf("store seal salt: %w", mapErr(err))
	}
	var salt []byte
	if err := s.w.QueryRowContext(ctx, `SELECT salt FROM seal_salt WHERE id = 1`).Scan(&salt); err != nil {
		return nil, fmt.Errorf("load seal salt: %w", mapErr(err))
	}
	return salt, nil
}
