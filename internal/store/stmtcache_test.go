package store

import (
	"path/filepath"
	"testing"
)

// The group commits' statements are prepared once on the SQLite writer: after the first
// turn the cache holds them, later turns (several batches) are written through them
// correctly, and Close closes them.
func TestGroupCommitStatementsPreparedOnce(t *testing.T) {
	ctx := t.Context()
	st, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.UpsertUser(ctx, User{CozeUserID: "1001", Region: "cn", Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	turn := func(conv string) Message {
		t.Helper()
		m, err := st.StartTurn(ctx, Conversation{ID: conv, UserID: u.ID, BotID: "1", Title: "t"},
			Message{ConversationID: conv, UserID: u.ID, Role: RoleUser, Content: "q", ChatID: "9", Status: StatusComplete},
			Message{ConversationID: conv, UserID: u.ID, Role: RoleAssistant, ChatID: "9", Status: StatusStreaming})
		if err != nil {
			t.Fatal(err)
		}
		m.Content, m.Status = "answer of "+conv, StatusComplete
		if err := st.UpdateMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	turn("7301")
	st.stmts.mu.Lock()
	cached := len(st.stmts.stmts)
	st.stmts.mu.Unlock()
	if cached == 0 {
		t.Fatal("no statement cached after the first turn")
	}
	for _, conv := range []string{"7302", "7303"} {
		m := turn(conv)
		got, err := st.Messages(ctx, u.ID, conv)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[1].ID != m.ID || got[1].Content != "answer of "+conv || got[1].Status != StatusComplete {
			t.Fatalf("conversation %s: messages %+v", conv, got)
		}
	}
	st.stmts.mu.Lock()
	again := len(st.stmts.stmts)
	st.stmts.mu.Unlock()
	if again != cached {
		t.Errorf("cache grew from %d to %d statements for the same queries", cached, again)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st.stmts.stmts != nil || !st.stmts.closed {
		t.Error("Close left statements cached")
	}
}
