package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Conversation is our local record of a Coze conversation, owned by one user.
type Conversation struct {
	ID        string // Coze conversation id
	UserID    int64
	BotID     string
	BotName   string
	Title     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

const convCols = `id, user_id, bot_id, bot_name, title, created_at, updated_at`

// Default and maximum ListConversations page sizes.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// UpsertConversation inserts the conversation or, if the user already has it,
// bumps UpdatedAt. An existing Title is kept (a rename wins over the first
// message); an empty stored Title or BotName is filled in. ErrNotFound if the
// user does not exist. Zero times default to now.
func (s *Store) UpsertConversation(ctx context.Context, c Conversation) error {
	created := orNow(c.CreatedAt)
	updated := c.UpdatedAt
	if updated.IsZero() {
		updated = time.Now()
	}
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO conversations (user_id, id, bot_id, bot_name, title, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (user_id, id) DO UPDATE SET
			updated_at = excluded.updated_at,
			title = CASE WHEN conversations.title = '' THEN excluded.title ELSE conversations.title END,
			bot_name = CASE WHEN excluded.bot_name <> '' THEN excluded.bot_name ELSE conversations.bot_name END,
			bot_id = CASE WHEN conversations.bot_id = '' THEN excluded.bot_id ELSE conversations.bot_id END`,
		c.UserID, c.ID, c.BotID, c.BotName, c.Title, ms(created), ms(updated))
	if err != nil {
		return fmt.Errorf("upsert conversation %s: %w", c.ID, mapErr(err))
	}
	return nil
}

// ConversationByID returns the user's conversation; ErrNotFound if it does not
// exist or belongs to someone else.
func (s *Store) ConversationByID(ctx context.Context, userID int64, id string) (Conversation, error) {
	c, err := scanConversation(s.db.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversations
		WHERE user_id = $1 AND id = $2`, userID, id))
	if err != nil {
		return Conversation{}, fmt.Errorf("conversation %s: %w", id, mapErr(err))
	}
	return c, nil
}

// ListConversations returns the user's conversations, most recently updated
// first. botID "" means every bot. q, if not empty, keeps conversations whose
// title or any message contains q, ignoring case (ASCII letters on SQLite,
// the database's rules on PostgreSQL; CJK has no case and matches exactly);
// '%', '_' and '\' in q are literal. limit <= 0 means DefaultListLimit, and
// is capped at MaxListLimit.
func (s *Store) ListConversations(ctx context.Context, userID int64, botID, q string, limit int) ([]Conversation, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	pattern := ""
	if q != "" {
		pattern = "%" + escapeLike(strings.ToLower(q)) + "%"
	}
	out, err := queryAll(ctx, s.db, scanConversation, `SELECT `+convCols+` FROM conversations c
		WHERE c.user_id = $1
		  AND ($2 = '' OR c.bot_id = $2)
		  AND ($3 = '' OR lower(c.title) LIKE $3 ESCAPE '\'
		       OR EXISTS (SELECT 1 FROM messages m
		                  WHERE m.user_id = c.user_id AND m.conversation_id = c.id
		                    AND lower(m.content) LIKE $3 ESCAPE '\'))
		ORDER BY c.updated_at DESC, c.created_at DESC, c.id DESC
		LIMIT $4`, userID, botID, pattern, limit)
	if err != nil {
		return nil, fmt.Errorf("list conversations of user %d: %w", userID, err)
	}
	return out, nil
}

// RenameConversation sets the title. ErrNotFound for a missing or foreign
// conversation.
func (s *Store) RenameConversation(ctx context.Context, userID int64, id, title string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE conversations SET title = $3, updated_at = $4
		WHERE user_id = $1 AND id = $2`, userID, id, title, ms(time.Now()))
	if err := affectedOne(res, err); err != nil {
		return fmt.Errorf("rename conversation %s: %w", id, err)
	}
	return nil
}

// DeleteConversation removes the conversation and its messages. ErrNotFound
// for a missing or foreign conversation.
func (s *Store) DeleteConversation(ctx context.Context, userID int64, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Explicit, rather than relying on ON DELETE CASCADE alone, so a
		// connection without foreign_keys cannot leave orphans.
		if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE user_id = $1 AND conversation_id = $2`, userID, id); err != nil {
			return mapErr(err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM conversations WHERE user_id = $1 AND id = $2`, userID, id)
		return affectedOne(res, err)
	})
	if err != nil {
		return fmt.Errorf("delete conversation %s: %w", id, err)
	}
	return nil
}

func scanConversation(r scanner) (Conversation, error) {
	var c Conversation
	var cr, up int64
	if err := r.Scan(&c.ID, &c.UserID, &c.BotID, &c.BotName, &c.Title, &cr, &up); err != nil {
		return Conversation{}, err
	}
	c.CreatedAt, c.UpdatedAt = fromMS(cr), fromMS(up)
	return c, nil
}

// escapeLike makes q literal inside a LIKE pattern with ESCAPE '\'.
func escapeLike(q string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
}
