package store

import (
	"context"
	"fmt"
	"time"
)

// User is a person signed in with Coze, identified by their Coze user id and
// the Coze region (cn or com) that vouched for it.
type User struct {
	ID         int64
	CozeUserID string
	Region     string
	Name       string
	AvatarURL  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// UpsertUser inserts the user or, if (CozeUserID, Region) exists, updates its
// name, avatar and UpdatedAt. It returns the stored row with its ID. Zero
// times default to now.
func (s *Store) UpsertUser(ctx context.Context, u User) (User, error) {
	now := time.Now()
	created, updated := orNow(u.CreatedAt), u.UpdatedAt
	if updated.IsZero() {
		updated = now
	}
	var out User
	var c, up int64
	err := s.w.QueryRowContext(ctx, `
		INSERT INTO users (coze_user_id, region, name, avatar_url, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (coze_user_id, region) DO UPDATE
		SET name = excluded.name, avatar_url = excluded.avatar_url, updated_at = excluded.updated_at
		RETURNING id, coze_user_id, region, name, avatar_url, created_at, updated_at`,
		u.CozeUserID, u.Region, u.Name, u.AvatarURL, ms(created), ms(updated),
	).Scan(&out.ID, &out.CozeUserID, &out.Region, &out.Name, &out.AvatarURL, &c, &up)
	if err != nil {
		return User{}, fmt.Errorf("upsert user %s/%s: %w", u.Region, u.CozeUserID, mapErr(err))
	}
	out.CreatedAt, out.UpdatedAt = fromMS(c), fromMS(up)
	return out, nil
}

// UserByID returns the user, or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	var out User
	var c, up int64
	err := s.db.QueryRowContext(ctx, `
		SELECT id, coze_user_id, region, name, avatar_url, created_at, updated_at
		FROM users WHERE id = $1`, id,
	).Scan(&out.ID, &out.CozeUserID, &out.Region, &out.Name, &out.AvatarURL, &c, &up)
	if err != nil {
		return User{}, fmt.Errorf("user %d: %w", id, mapErr(err))
	}
	out.CreatedAt, out.UpdatedAt = fromMS(c), fromMS(up)
	return out, nil
}
