package store_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/coze2app/coze2app/internal/store"
)

// Turn starts written at once share commits on SQLite (group commit); each
// still lands whole or not at all, and one that fails (its user does not
// exist) fails alone.
func TestStartTurnConcurrent(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "turns.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UpsertUser(ctx, store.User{CozeUserID: "1001", Region: "cn", Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	const n, bad = 40, 17
	ids := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			uid := u.ID
			if i == bad {
				uid = u.ID + 1000 // no such user
			}
			conv := fmt.Sprintf("73%05d", i)
			m, err := st.StartTurn(ctx,
				store.Conversation{ID: conv, UserID: uid, BotID: "1", Title: "t"},
				store.Message{ConversationID: conv, UserID: uid, Role: store.RoleUser, Content: "q", ChatID: "9", Status: store.StatusComplete},
				store.Message{ConversationID: conv, UserID: uid, Role: store.RoleAssistant, ChatID: "9", Status: store.StatusStreaming})
			ids[i], errs[i] = m.ID, err
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i := range n {
		conv := fmt.Sprintf("73%05d", i)
		uid := u.ID
		if i == bad {
			uid = u.ID + 1000
		}
		msgs, err := st.Messages(ctx, uid, conv)
		if err != nil {
			t.Fatal(err)
		}
		if i == bad {
			if errs[i] == nil || len(msgs) != 0 {
				t.Errorf("turn of a missing user: err %v, %d messages; want an error and none", errs[i], len(msgs))
			}
			continue
		}
		if errs[i] != nil {
			t.Errorf("turn %d: %v", i, errs[i])
			continue
		}
		if len(msgs) != 2 || msgs[1].ID != ids[i] || msgs[1].Status != store.StatusStreaming || seen[ids[i]] {
			t.Errorf("turn %d: %d messages, assistant id %d (returned %d)", i, len(msgs), msgs[len(msgs)-1].ID, ids[i])
		}
		seen[ids[i]] = true
		if err := st.UpdateMessage(ctx, store.Message{ID: ids[i], UserID: u.ID, Content: "a", Status: store.StatusComplete}); err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
}
