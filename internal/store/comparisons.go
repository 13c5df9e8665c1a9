package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Comparison is a side-by-side of several bots (issue 12), one history item.
type Comparison struct {
	ID        string // random hex, ours
	UserID    int64
	Title     string
	Columns   []ComparisonColumn
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ComparisonColumn is one column: a bot and its own conversation.
type ComparisonColumn struct {
	BotID          string `json:"bot_id"`
	BotName        string `json:"bot_name"`
	ConversationID string `json:"conversation_id"`
}

const comparisonCols = `id, user_id, title, cols_json, created_at, updated_at`

// SaveComparison inserts c (a new random ID when c.ID is "") or replaces the
// title and columns of the user's comparison c.ID, and returns its ID.
// ErrNotFound when c.ID is not one of the user's comparisons.
func (s *Store) SaveComparison(ctx context.Context, c Comparison) (string, error) {
	cols, err := json.Marshal(c.Columns)
	if err != nil {
		return "", err
	}
	now := time.Now()
	if c.ID != "" {
		res, err := s.w.ExecContext(ctx, `UPDATE comparisons SET title = $1, cols_json = $2, updated_at = $3
			WHERE user_id = $4 AND id = $5`, c.Title, string(cols), ms(now), c.UserID, c.ID)
		if err != nil {
			return "", fmt.Errorf("update comparison %s: %w", c.ID, mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "", ErrNotFound
		}
		return c.ID, nil
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	_, err = s.w.ExecContext(ctx, `INSERT INTO comparisons (`+comparisonCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, c.UserID, c.Title, string(cols), ms(orNow(c.CreatedAt)), ms(now))
	if err != nil {
		return "", fmt.Errorf("insert comparison: %w", mapErr(err))
	}
	return id, nil
}

// ListComparisons returns the user's comparisons, most recently updated first
// (limit as ListConversations: 0 => DefaultListLimit, at most MaxListLimit).
func (s *Store) ListComparisons(ctx context.Context, userID int64, limit int) ([]Comparison, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	out, err := queryAll(ctx, s.db, scanComparison, `SELECT `+comparisonCols+` FROM comparisons WHERE user_id = $1
		ORDER BY updated_at DESC, id LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("list comparisons: %w", err)
	}
	return out, nil
}

// ComparisonByID returns the user's comparison; ErrNotFound if it does not
// exist or belongs to someone else.
func (s *Store) ComparisonByID(ctx context.Context, userID int64, id string) (Comparison, error) {
	c, err := scanComparison(s.db.QueryRowContext(ctx, `SELECT `+comparisonCols+` FROM comparisons
		WHERE user_id = $1 AND id = $2`, userID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Comparison{}, ErrNotFound
	}
	return c, err
}

func scanComparison(r scanner) (Comparison, error) {
	var c Comparison
	var cols string
	var created, updated int64
	if err := r.Scan(&c.ID, &c.UserID, &c.Title, &cols, &created, &updated); err != nil {
		return Comparison{}, err
	}
	if err := json.Unmarshal([]byte(cols), &c.Columns); err != nil {
		return Comparison{}, fmt.Errorf("comparison %s columns: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return c, nil
}
