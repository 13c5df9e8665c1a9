package store

import (
	"context"
	"database/sql"
	"fmt"
)

// querier is what a write needs of the write pool or of a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// StartTurn writes the start of a chat turn in one transaction: the
// conversation (UpsertConversation), the user's message and the assistant's
// placeholder (AddMessage each). It returns the assistant message with its ID.
// Nothing is written when any part fails.
func (s *Store) StartTurn(ctx context.Context, c Conversation, user, assistant Message) (Message, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := upsertConversation(ctx, tx, c); err != nil {
			return err
		}
		if _, err := addMessage(ctx, tx, user); err != nil {
			return err
		}
		var err error
		assistant, err = addMessage(ctx, tx, assistant)
		return err
	})
	if err != nil {
		return Message{}, fmt.Errorf("start turn in conversation %s: %w", c.ID, err)
	}
	return assistant, nil
}
