package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Message is one turn of a conversation in our local history.
type Message struct {
	ID             int64
	ConversationID string
	UserID         int64
	Role           string // "user" | "assistant"
	Content        string
	ChatID         string
	Status         string // "complete" | "streaming" | "incomplete" | "canceled" | "failed"
	ErrorCode      string
	FollowUps      []string // nil when empty
	Usage          []byte   // JSON, or nil
	Reasoning      string   // the bot's thinking ("" when none)
	Cards          []byte   // JSON array of cards, or nil
	Question       []byte   // JSON object {"text","options"}, or nil
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Message roles and statuses.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"

	StatusComplete   = "complete"
	StatusStreaming  = "streaming"
	StatusIncomplete = "incomplete"
	StatusCanceled   = "canceled"
	StatusFailed     = "failed"
)

const msgCols = `id, conversation_id, user_id, role, content, chat_id, status, error_code, follow_ups, usage, reasoning, cards, question, created_at, updated_at`

// AddMessage appends m to the user's conversation and returns it with its ID
// and defaulted times. ErrNotFound if the conversation is not the user's.
func (s *Store) AddMessage(ctx context.Context, m Message) (Message, error) {
	return addMessage(ctx, s.w, m)
}

func addMessage(ctx context.Context, q querier, m Message) (Message, error) {
	m.CreatedAt = orNow(m.CreatedAt).Truncate(time.Millisecond).UTC()
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.CreatedAt
	}
	m.UpdatedAt = m.UpdatedAt.Truncate(time.Millisecond).UTC()
	fu, err := encodeFollowUps(m.FollowUps)
	if err != nil {
		return Message{}, fmt.Errorf("add message: %w", err)
	}
	err = q.QueryRowContext(ctx, `
		INSERT INTO messages (conversation_id, user_id, role, content, chat_id, status, error_code, follow_ups, usage, reasoning, cards, question, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		RETURNING id`,
		m.ConversationID, m.UserID, m.Role, m.Content, m.ChatID, m.Status, m.ErrorCode, fu, nullable(m.Usage),
		m.Reasoning, string(m.Cards), string(m.Question), ms(m.CreatedAt), ms(m.UpdatedAt),
	).Scan(&m.ID)
	if err != nil {
		return Message{}, fmt.Errorf("add message to conversation %s: %w", m.ConversationID, mapErr(err))
	}
	if len(m.FollowUps) == 0 {
		m.FollowUps = nil
	}
	if len(m.Usage) == 0 {
		m.Usage = nil
	}
	if len(m.Cards) == 0 {
		m.Cards = nil
	}
	if len(m.Question) == 0 {
		m.Question = nil
	}
	return m, nil
}

// UpdateMessage rewrites Content, Status, ErrorCode, FollowUps, Usage,
// Reasoning, Cards, Question, ChatID and UpdatedAt (zero = now) of the message
// with m.ID owned by m.UserID.
// ErrNotFound for a missing or foreign message.
func (s *Store) UpdateMessage(ctx context.Context, m Message) error {
	fu, err := encodeFollowUps(m.FollowUps)
	if err != nil {
		return fmt.Errorf("update message %d: %w", m.ID, err)
	}
	if s.dialect != sqliteDialect {
		return updateMessage(ctx, s.w, m, fu)
	}
	return s.grouped(ctx, func(ctx context.Context, q querier) error { return updateMessage(ctx, q, m, fu) })
}

func updateMessage(ctx context.Context, q querier, m Message, fu string) error {
	res, err := q.ExecContext(ctx, `
		UPDATE messages SET content = $3, status = $4, error_code = $5, follow_ups = $6, usage = $7, chat_id = $8, updated_at = $9,
			reasoning = $10, cards = $11, question = $12
		WHERE id = $1 AND user_id = $2`,
		m.ID, m.UserID, m.Content, m.Status, m.ErrorCode, fu, nullable(m.Usage), m.ChatID, ms(orNow(m.UpdatedAt)),
		m.Reasoning, string(m.Cards), string(m.Question))
	if err := affectedOne(res, err); err != nil {
		return fmt.Errorf("update message %d: %w", m.ID, err)
	}
	return nil
}

// Messages returns the messages of the user's conversation, oldest first. A
// missing, deleted or foreign conversation yields no messages (not an error); use
// ConversationByID to tell the cases apart.
func (s *Store) Messages(ctx context.Context, userID int64, convID string) ([]Message, error) {
	out, err := queryAll(ctx, s.db, scanMessage, `SELECT `+msgCols+` FROM messages
		WHERE user_id = $1 AND conversation_id = $2
		  AND NOT EXISTS (SELECT 1 FROM conversations c
		                  WHERE c.user_id = $1 AND c.id = $2 AND c.deleted_at > 0)
		ORDER BY id`, userID, convID)
	if err != nil {
		return nil, fmt.Errorf("messages of conversation %s: %w", convID, err)
	}
	return out, nil
}

// MessageByChatID returns the (latest) assistant message of the user's chat.
// ErrNotFound if none.
func (s *Store) MessageByChatID(ctx context.Context, userID int64, chatID string) (Message, error) {
	m, err := scanMessage(s.db.QueryRowContext(ctx, `SELECT `+msgCols+` FROM messages
		WHERE user_id = $1 AND chat_id = $2 AND role = 'assistant'
		ORDER BY id DESC LIMIT 1`, userID, chatID))
	if err != nil {
		return Message{}, fmt.Errorf("message of chat %s: %w", chatID, mapErr(err))
	}
	return m, nil
}

func scanMessage(r scanner) (Message, error) {
	var m Message
	var fu, cards, question string
	var c, u int64
	if err := r.Scan(&m.ID, &m.ConversationID, &m.UserID, &m.Role, &m.Content, &m.ChatID, &m.Status,
		&m.ErrorCode, &fu, &m.Usage, &m.Reasoning, &cards, &question, &c, &u); err != nil {
		return Message{}, err
	}
	if cards != "" {
		m.Cards = []byte(cards)
	}
	if question != "" {
		m.Question = []byte(question)
	}
	if fu != "" {
		if err := json.Unmarshal([]byte(fu), &m.FollowUps); err != nil {
			return Message{}, fmt.Errorf("decode follow_ups of message %d: %w", m.ID, err)
		}
	}
	if len(m.FollowUps) == 0 {
		m.FollowUps = nil
	}
	if len(m.Usage) == 0 {
		m.Usage = nil
	}
	m.CreatedAt, m.UpdatedAt = fromMS(c), fromMS(u)
	return m, nil
}

func encodeFollowUps(f []string) (string, error) {
	if len(f) == 0 {
		return "", nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return "", fmt.Errorf("encode follow-ups: %w", err)
	}
	return string(b), nil
}

// MarkInterrupted turns replies still "streaming" that were last written
// before the given time into "incomplete" with error code "interrupted":
// their relay died with its process (catalog case 66). It returns how many
// replies it marked.
func (s *Store) MarkInterrupted(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.execCount(ctx, `
		UPDATE messages SET status = $1, error_code = $2, updated_at = $3
		WHERE status = $4 AND updated_at < $5`,
		StatusIncomplete, "interrupted", ms(time.Now()), StatusStreaming, ms(before))
	if err != nil {
		return 0, fmt.Errorf("mark interrupted replies: %w", err)
	}
	return n, nil
}
