package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ReplyEvent is one of our stream events of a reply (docs/stream-contract.md)
// as kept in reply_events for the other instances on the same database.
type ReplyEvent struct {
	ID   int64 // 1, 2, 3… per reply, the id the browser sees
	Name string
	Data []byte
}

// replyEventsPerInsert bounds one INSERT (3 parameters a row; PostgreSQL
// allows 65535 parameters, SQLite 32766).
const replyEventsPerInsert = 1000

// AppendReplyEvents adds the events of the reply key, owned by userID. An
// event whose id is already there is left as it is, so a retried batch is
// harmless.
func (s *Store) AppendReplyEvents(ctx context.Context, key string, userID int64, evs []ReplyEvent) error {
	for len(evs) > 0 {
		n := min(len(evs), replyEventsPerInsert)
		var q strings.Builder
		q.WriteString(`INSERT INTO reply_events (chat_key, user_id, created_at, id, name, data) VALUES `)
		args := make([]any, 0, 3+3*n)
		args = append(args, key, userID, time.Now().UnixMilli())
		for i, ev := range evs[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			p := len(args)
			q.WriteString("($1, $2, $3, $" + strconv.Itoa(p+1) + ", $" + strconv.Itoa(p+2) + ", $" + strconv.Itoa(p+3) + ")")
			args = append(args, ev.ID, ev.Name, nn(ev.Data))
		}
		q.WriteString(` ON CONFLICT (chat_key, id) DO NOTHING`)
		if _, err := s.w.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("append reply events of %s: %w", key, mapErr(err))
		}
		evs = evs[n:]
	}
	return nil
}

// ReplyEventsAfter returns at most limit events of the reply key with id >
// afterID, in id order, if the reply belongs to userID (none otherwise).
func (s *Store) ReplyEventsAfter(ctx context.Context, key string, userID, afterID int64, limit int) ([]ReplyEvent, error) {
	evs, err := queryAll(ctx, s.db, scanReplyEvent, `SELECT id, name, data FROM reply_events
		WHERE chat_key = $1 AND user_id = $2 AND id > $3 ORDER BY id LIMIT $4`, key, userID, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("reply events of %s: %w", key, err)
	}
	return evs, nil
}

func scanReplyEvent(sc scanner) (ev ReplyEvent, err error) {
	err = sc.Scan(&ev.ID, &ev.Name, &ev.Data)
	return ev, err
}

// ReplyEventBounds returns the oldest and the newest event held of the reply
// key, or ErrNotFound when there is none or the reply is not userID's.
func (s *Store) ReplyEventBounds(ctx context.Context, key string, userID int64) (first, last ReplyEvent, err error) {
	for _, q := range []struct {
		order string
		ev    *ReplyEvent
	}{{"ASC", &first}, {"DESC", &last}} {
		*q.ev, err = scanReplyEvent(s.db.QueryRowContext(ctx, `SELECT id, name, data FROM reply_events
			WHERE chat_key = $1 AND user_id = $2 ORDER BY id `+q.order+` LIMIT 1`, key, userID))
		if err != nil {
			return first, last, fmt.Errorf("reply events of %s: %w", key, mapErr(err))
		}
	}
	return first, last, nil
}

// DeleteReplyEventsBefore deletes the events written before cutoff and
// returns how many it deleted.
func (s *Store) DeleteReplyEventsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	n, err := s.execCount(ctx, `DELETE FROM reply_events WHERE created_at < $1`, ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("delete old reply events: %w", err)
	}
	return n, nil
}
