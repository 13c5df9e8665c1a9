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
	// BotIconURL is the bot's icon as the page knew it ("" = none); an upsert
	// with one replaces the stored one.
	BotIconURL string
	// PinnedAt is when the user pinned it; zero = not pinned.
	PinnedAt time.Time
	// LastStatus is the status of its latest assistant message ("" = none).
	// Read only: ListConversations fills it in.
	LastStatus string
}

const convCols = `id, user_id, bot_id, bot_name, title, created_at, updated_at, bot_icon_url, pinned_at`

// notDeleted is the condition every read and change of a conversation adds:
// a deleted one is hidden until it is restored or purged.
const notDeleted = `deleted_at = 0`

// Default and maximum ListConversations page sizes.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// UpsertConversation inserts the conversation or, if the user already has it,
// bumps UpdatedAt. An existing Title is kept (a rename wins over the first
// message); an empty stored Title or BotName is filled in, and a non-empty
// BotIconURL replaces the stored one. A deleted conversation stays deleted.
// ErrNotFound if the user does not exist. Zero times default to now.
func (s *Store) UpsertConversation(ctx context.Context, c Conversation) error {
	return upsertConversation(ctx, s.w, c)
}

func upsertConversation(ctx context.Context, q querier, c Conversation) error {
	created := orNow(c.CreatedAt)
	updated := c.UpdatedAt
	if updated.IsZero() {
		updated = time.Now()
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO conversations (user_id, id, bot_id, bot_name, title, created_at, updated_at, bot_icon_url)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (user_id, id) DO UPDATE SET
			updated_at = excluded.updated_at,
			bot_icon_url = CASE WHEN excluded.bot_icon_url <> '' THEN excluded.bot_icon_url ELSE conversations.bot_icon_url END,
			title = CASE WHEN conversations.title = '' THEN excluded.title ELSE conversations.title END,
			bot_name = CASE WHEN excluded.bot_name <> '' THEN excluded.bot_name ELSE conversations.bot_name END,
			bot_id = CASE WHEN conversations.bot_id = '' THEN excluded.bot_id ELSE conversations.bot_id END`,
		c.UserID, c.ID, c.BotID, c.BotName, c.Title, ms(created), ms(updated), c.BotIconURL)
	if err != nil {
		return fmt.Errorf("upsert conversation %s: %w", c.ID, mapErr(err))
	}
	return nil
}

// ConversationByID returns the user's conversation; ErrNotFound if it does not
// exist, is deleted or belongs to someone else.
func (s *Store) ConversationByID(ctx context.Context, userID int64, id string) (Conversation, error) {
	c, err := scanConversation(s.db.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversations
		WHERE user_id = $1 AND id = $2 AND `+notDeleted, userID, id))
	if err != nil {
		return Conversation{}, fmt.Errorf("conversation %s: %w", id, mapErr(err))
	}
	return c, nil
}

// ListConversations returns the user's conversations that are not deleted,
// pinned ones first, then most recently updated first, each with the
// LastStatus of its latest reply. botID "" means every bot. q, if not empty, keeps conversations whose
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
	out, err := queryAll(ctx, s.db, scanListedConversation, `SELECT `+convCols+`,
		COALESCE((SELECT m.status FROM messages m
		          WHERE m.user_id = c.user_id AND m.conversation_id = c.id AND m.role = 'assistant'
		          ORDER BY m.id DESC LIMIT 1), '')
		FROM conversations c
		WHERE c.user_id = $1 AND c.`+notDeleted+`
		  AND ($2 = '' OR c.bot_id = $2)
		  AND ($3 = '' OR lower(c.title) LIKE $3 ESCAPE '\'
		       OR EXISTS (SELECT 1 FROM messages m
		                  WHERE m.user_id = c.user_id AND m.conversation_id = c.id
		                    AND lower(m.content) LIKE $3 ESCAPE '\'))
		ORDER BY c.pinned_at > 0 DESC, c.updated_at DESC, c.created_at DESC, c.id DESC
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
		WHERE user_id = $1 AND id = $2 AND `+notDeleted, userID, id, title, ms(time.Now()))
	if err := affectedOne(res, err); err != nil {
		return fmt.Errorf("rename conversation %s: %w", id, err)
	}
	return nil
}

// PinConversation pins (or unpins) the conversation; it does not count as an
// update. ErrNotFound for a missing, deleted or foreign conversation.
func (s *Store) PinConversation(ctx context.Context, userID int64, id string, pinned bool) error {
	var at int64
	if pinned {
		at = ms(time.Now())
	}
	res, err := s.w.ExecContext(ctx, `UPDATE conversations SET pinned_at = $3
		WHERE user_id = $1 AND id = $2 AND `+notDeleted, userID, id, at)
	if err := affectedOne(res, err); err != nil {
		return fmt.Errorf("pin conversation %s: %w", id, err)
	}
	return nil
}

// DeleteConversation hides the conversation and its messages at once; it can
// be restored with RestoreConversation until PurgeDeletedConversations
// removes it. ErrNotFound for a missing, already deleted or foreign
// conversation.
func (s *Store) DeleteConversation(ctx context.Context, userID int64, id string) error {
	return s.DeleteConversationAt(ctx, userID, id, time.Now())
}

// DeleteConversationAt is DeleteConversation on the caller's clock, the one
// its purge cutoffs are computed on. A zero at means now.
func (s *Store) DeleteConversationAt(ctx context.Context, userID int64, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE conversations SET deleted_at = $3
		WHERE user_id = $1 AND id = $2 AND `+notDeleted, userID, id, ms(orNow(at)))
	if err := affectedOne(res, err); err != nil {
		return fmt.Errorf("delete conversation %s: %w", id, err)
	}
	return nil
}

// RestoreConversation undoes DeleteConversation. ErrNotFound unless the
// user's conversation is deleted and not yet purged.
func (s *Store) RestoreConversation(ctx context.Context, userID int64, id string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE conversations SET deleted_at = 0
		WHERE user_id = $1 AND id = $2 AND deleted_at > 0`, userID, id)
	if err := affectedOne(res, err); err != nil {
		return fmt.Errorf("restore conversation %s: %w", id, err)
	}
	return nil
}

// MaxPurge bounds how many conversations one PurgeDeletedConversations call
// removes, so a sweep never holds the writer for long.
const MaxPurge = 100

// PurgeDeletedConversations removes, with their messages, up to MaxPurge
// conversations deleted before the given time, and returns them (for the
// courtesy delete at Coze).
func (s *Store) PurgeDeletedConversations(ctx context.Context, before time.Time) ([]Conversation, error) {
	var out []Conversation
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = deletedBefore(ctx, tx, ms(before))
		if err != nil {
			return err
		}
		for _, c := range out {
			if err := purgeConversation(ctx, tx, c.UserID, c.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("purge deleted conversations: %w", err)
	}
	return out, nil
}

func deletedBefore(ctx context.Context, tx *sql.Tx, before int64) ([]Conversation, error) {
	return queryAll(ctx, tx, scanConversation, `SELECT `+convCols+` FROM conversations
		WHERE deleted_at > 0 AND deleted_at < $1 ORDER BY deleted_at LIMIT $2`, before, MaxPurge)
}

// purgeConversation deletes the messages explicitly, rather than relying on ON
// DELETE CASCADE alone, so a connection without foreign_keys cannot leave
// orphans.
func purgeConversation(ctx context.Context, tx *sql.Tx, userID int64, id string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE user_id = $1 AND conversation_id = $2`, userID, id); err != nil {
		return mapErr(err)
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM conversations WHERE user_id = $1 AND id = $2`, userID, id)
	return mapErr(err)
}

func scanConversation(r scanner) (Conversation, error) {
	return scanConversationWith(r)
}

// scanListedConversation reads convCols followed by the last reply's status.
func scanListedConversation(r scanner) (Conversation, error) {
	var status string
	c, err := scanConversationWith(r, &status)
	c.LastStatus = status
	return c, err
}

func scanConversationWith(r scanner, extra ...any) (Conversation, error) {
	var c Conversation
	var cr, up, pinned int64
	dest := append([]any{&c.ID, &c.UserID, &c.BotID, &c.BotName, &c.Title, &cr, &up, &c.BotIconURL, &pinned}, extra...)
	if err := r.Scan(dest...); err != nil {
		return Conversation{}, err
	}
	c.CreatedAt, c.UpdatedAt, c.PinnedAt = fromMS(cr), fromMS(up), fromMS(pinned)
	return c, nil
}

// escapeLike makes q literal inside a LIKE pattern with ESCAPE '\'.
func escapeLike(q string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
}
