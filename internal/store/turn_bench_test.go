package store_test

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/coze2app/coze2app/internal/store"
)

// BenchmarkTurnWrites is the store's part of one streamed reply on SQLite, one at a time:
// StartTurn, then UpdateMessage with the answer.
func BenchmarkTurnWrites(b *testing.B) {
	ctx := b.Context()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	u, err := st.UpsertUser(ctx, store.User{CozeUserID: "1001", Region: "cn", Name: "a"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		conv := "73" + strconv.Itoa(i)
		m, err := st.StartTurn(ctx, store.Conversation{ID: conv, UserID: u.ID, BotID: "1", Title: "t"},
			store.Message{ConversationID: conv, UserID: u.ID, Role: store.RoleUser, Content: "q", ChatID: "9", Status: store.StatusComplete},
			store.Message{ConversationID: conv, UserID: u.ID, Role: store.RoleAssistant, ChatID: "9", Status: store.StatusStreaming})
		if err != nil {
			b.Fatal(err)
		}
		m.Content, m.Status = "an answer", store.StatusComplete
		if err := st.UpdateMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}
