package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func testConversations(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u := MustUser(t, s, "Alan")

	c1 := store.Conversation{ID: "conv-1", UserID: u.ID, BotID: "bot-a", BotName: "Assistant", Title: "First", CreatedAt: at(0), UpdatedAt: at(0)}
	c2 := store.Conversation{ID: "conv-2", UserID: u.ID, BotID: "bot-b", BotName: "Memory", Title: "Second", CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute)}
	c3 := store.Conversation{ID: "conv-3", UserID: u.ID, BotID: "bot-a", BotName: "Assistant", Title: "", CreatedAt: at(2 * time.Minute), UpdatedAt: at(2 * time.Minute)}
	for _, c := range []store.Conversation{c1, c2, c3} {
		mustNoErr(t, "UpsertConversation "+c.ID, s.UpsertConversation(ctx, c))
	}
	got, err := s.ConversationByID(ctx, u.ID, "conv-1")
	wantEqual(t, "ConversationByID", c1, got, err)
	_, err = s.ConversationByID(ctx, u.ID, "nope")
	wantErr(t, "ConversationByID(missing)", err, store.ErrNotFound)
	wantErr(t, "UpsertConversation(unknown user)", s.UpsertConversation(ctx, store.Conversation{ID: "x", UserID: 987654321}), store.ErrNotFound)

	if got, want := conversationIDs(t, s, u.ID, "", "", 0), []string{"conv-3", "conv-2", "conv-1"}; !cmp.Equal(got, want) {
		t.Errorf("ListConversations = %v, want %v (newest first)", got, want)
	}

	// Upsert again bumps UpdatedAt, keeps the title, fills an empty one.
	mustNoErr(t, "UpsertConversation bump", s.UpsertConversation(ctx, store.Conversation{ID: "conv-1", UserID: u.ID, BotID: "bot-a", BotName: "Assistant", Title: "ignored", CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}))
	mustNoErr(t, "UpsertConversation fill title", s.UpsertConversation(ctx, store.Conversation{ID: "conv-3", UserID: u.ID, BotID: "bot-a", Title: "Filled", UpdatedAt: at(3 * time.Minute)}))
	got, err = s.ConversationByID(ctx, u.ID, "conv-1")
	want := c1
	want.UpdatedAt = at(time.Hour)
	wantEqual(t, "ConversationByID after bump", want, got, err)
	got, err = s.ConversationByID(ctx, u.ID, "conv-3")
	mustNoErr(t, "ConversationByID conv-3", err)
	if got.Title != "Filled" || got.BotName != "Assistant" {
		t.Errorf("conv-3 = %+v, want title Filled and bot name kept", got)
	}

	tests := []struct {
		name, botID string
		limit       int
		want        []string
	}{
		{"all newest first", "", 0, []string{"conv-1", "conv-3", "conv-2"}},
		{"bot filter", "bot-a", 0, []string{"conv-1", "conv-3"}},
		{"limit", "", 2, []string{"conv-1", "conv-3"}},
		{"unknown bot", "bot-z", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := conversationIDs(t, s, u.ID, tt.botID, "", tt.limit); !cmp.Equal(got, tt.want) {
				t.Errorf("ListConversations(%q, limit %d) = %v, want %v", tt.botID, tt.limit, got, tt.want)
			}
		})
	}

	mustNoErr(t, "RenameConversation", s.RenameConversation(ctx, u.ID, "conv-2", "Renamed 改名"))
	got, err = s.ConversationByID(ctx, u.ID, "conv-2")
	mustNoErr(t, "ConversationByID renamed", err)
	if got.Title != "Renamed 改名" {
		t.Errorf("Title = %q, want %q", got.Title, "Renamed 改名")
	}
	wantErr(t, "RenameConversation(missing)", s.RenameConversation(ctx, u.ID, "nope", "x"), store.ErrNotFound)

	_, err = s.AddMessage(ctx, store.Message{ConversationID: "conv-2", UserID: u.ID, Role: store.RoleUser, Content: "hi"})
	mustNoErr(t, "AddMessage", err)
	mustNoErr(t, "DeleteConversation", s.DeleteConversation(ctx, u.ID, "conv-2"))
	wantNoConversation(t, s, u.ID, "conv-2", "after DeleteConversation")
	wantErr(t, "DeleteConversation(again)", s.DeleteConversation(ctx, u.ID, "conv-2"), store.ErrNotFound)
	purged, err := s.PurgeDeletedConversations(ctx, time.Now().Add(time.Minute))
	mustNoErr(t, "PurgeDeletedConversations", err)
	if len(purged) != 1 || purged[0].ID != "conv-2" || purged[0].UserID != u.ID {
		t.Errorf("PurgeDeletedConversations = %+v, want conv-2 of user %d", purged, u.ID)
	}
	// The id can be used again (Coze would not, but nothing is left behind).
	mustNoErr(t, "UpsertConversation reuse", s.UpsertConversation(ctx, store.Conversation{ID: "conv-2", UserID: u.ID}))
	if _, err := s.ConversationByID(ctx, u.ID, "conv-2"); err != nil {
		t.Errorf("ConversationByID(reused) = %v, want it listed afresh", err)
	}
}

// testHistoryPinAndUndo: pinned conversations list first and keep their
// place across updates; a deleted one is hidden from every read and search,
// comes back whole with RestoreConversation, and is removed for good, with
// its messages, only by a purge after the undo window.
func testHistoryPinAndUndo(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u, other := MustUser(t, s, "Alan"), MustUser(t, s, "Bea")
	for i, id := range []string{"old", "mid", "new"} {
		c := store.Conversation{ID: id, UserID: u.ID, BotID: "bot", BotName: "Bot", Title: "talk " + id,
			BotIconURL: "https://p1-sign.byteimg.com/" + id + ".png", CreatedAt: at(time.Duration(i) * time.Minute), UpdatedAt: at(time.Duration(i) * time.Minute)}
		mustNoErr(t, "UpsertConversation "+id, s.UpsertConversation(ctx, c))
		_, err := s.AddMessage(ctx, store.Message{ConversationID: id, UserID: u.ID, Role: store.RoleUser, Content: "needle " + id, Status: store.StatusComplete})
		mustNoErr(t, "AddMessage", err)
	}
	got, err := s.ConversationByID(ctx, u.ID, "mid")
	mustNoErr(t, "ConversationByID", err)
	if got.BotIconURL != "https://p1-sign.byteimg.com/mid.png" || !got.PinnedAt.IsZero() {
		t.Errorf("new conversation = %+v, want its icon and not pinned", got)
	}
	// An upsert without an icon keeps the stored one.
	mustNoErr(t, "UpsertConversation no icon", s.UpsertConversation(ctx, store.Conversation{ID: "mid", UserID: u.ID, BotID: "bot", UpdatedAt: at(time.Minute)}))
	if got, _ := s.ConversationByID(ctx, u.ID, "mid"); got.BotIconURL != "https://p1-sign.byteimg.com/mid.png" {
		t.Errorf("icon after upsert without one = %q, want kept", got.BotIconURL)
	}

	mustNoErr(t, "PinConversation old", s.PinConversation(ctx, u.ID, "old", true))
	if ids := conversationIDs(t, s, u.ID, "", "", 0); !cmp.Equal(ids, []string{"old", "new", "mid"}) {
		t.Errorf("after pin: %v, want the pinned one first", ids)
	}
	if got, _ := s.ConversationByID(ctx, u.ID, "old"); got.PinnedAt.IsZero() || !got.UpdatedAt.Equal(at(0)) {
		t.Errorf("pinned = %+v, want PinnedAt set and UpdatedAt unchanged", got)
	}
	wantErr(t, "B PinConversation", s.PinConversation(ctx, other.ID, "old", false), store.ErrNotFound)
	wantErr(t, "PinConversation(missing)", s.PinConversation(ctx, u.ID, "nope", true), store.ErrNotFound)
	mustNoErr(t, "PinConversation unpin", s.PinConversation(ctx, u.ID, "old", false))
	if ids := conversationIDs(t, s, u.ID, "", "", 0); !cmp.Equal(ids, []string{"new", "mid", "old"}) {
		t.Errorf("after unpin: %v, want newest first again", ids)
	}

	wantErr(t, "B DeleteConversation", s.DeleteConversation(ctx, other.ID, "mid"), store.ErrNotFound)
	mustNoErr(t, "DeleteConversation mid", s.DeleteConversation(ctx, u.ID, "mid"))
	wantNoConversation(t, s, u.ID, "mid", "deleted")
	if ids := conversationIDs(t, s, u.ID, "", "needle", 0); !cmp.Equal(ids, []string{"new", "old"}) {
		t.Errorf("search after delete: %v, want the deleted one hidden", ids)
	}
	wantErr(t, "RenameConversation(deleted)", s.RenameConversation(ctx, u.ID, "mid", "x"), store.ErrNotFound)
	wantErr(t, "PinConversation(deleted)", s.PinConversation(ctx, u.ID, "mid", true), store.ErrNotFound)
	wantErr(t, "B RestoreConversation", s.RestoreConversation(ctx, other.ID, "mid"), store.ErrNotFound)
	wantErr(t, "RestoreConversation(not deleted)", s.RestoreConversation(ctx, u.ID, "new"), store.ErrNotFound)

	// A purge with a cutoff before the delete leaves it restorable.
	purged, err := s.PurgeDeletedConversations(ctx, time.Now().Add(-time.Hour))
	mustNoErr(t, "PurgeDeletedConversations(early)", err)
	if len(purged) != 0 {
		t.Errorf("early purge removed %+v, want nothing", purged)
	}
	mustNoErr(t, "RestoreConversation", s.RestoreConversation(ctx, u.ID, "mid"))
	if ids := conversationIDs(t, s, u.ID, "", "needle", 0); !cmp.Equal(ids, []string{"new", "mid", "old"}) {
		t.Errorf("after restore: %v, want it back in its place", ids)
	}
	if msgs, err := s.Messages(ctx, u.ID, "mid"); err != nil || len(msgs) != 1 {
		t.Errorf("messages after restore = %d, %v; want 1", len(msgs), err)
	}

	mustNoErr(t, "DeleteConversation again", s.DeleteConversation(ctx, u.ID, "mid"))
	purged, err = s.PurgeDeletedConversations(ctx, time.Now().Add(time.Minute))
	mustNoErr(t, "PurgeDeletedConversations", err)
	if len(purged) != 1 || purged[0].ID != "mid" {
		t.Errorf("purge = %+v, want mid", purged)
	}
	wantErr(t, "RestoreConversation(purged)", s.RestoreConversation(ctx, u.ID, "mid"), store.ErrNotFound)
	// Gone for good: upserting the id again starts an empty conversation.
	mustNoErr(t, "UpsertConversation after purge", s.UpsertConversation(ctx, store.Conversation{ID: "mid", UserID: u.ID, BotID: "bot"}))
	if msgs, err := s.Messages(ctx, u.ID, "mid"); err != nil || len(msgs) != 0 {
		t.Errorf("messages after purge = %d, %v; want none", len(msgs), err)
	}
}

// testLastStatus: the list carries the status of each conversation's latest
// reply, which the page shows as live, stopped or failed.
func testLastStatus(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u := MustUser(t, s, "Alan")
	for _, tt := range []struct{ id, first, last string }{
		{"streaming", store.StatusFailed, store.StatusStreaming},
		{"canceled", store.StatusStreaming, store.StatusCanceled},
		{"failed", store.StatusComplete, store.StatusFailed},
		{"complete", store.StatusFailed, store.StatusComplete},
	} {
		mustNoErr(t, "UpsertConversation", s.UpsertConversation(ctx, store.Conversation{ID: tt.id, UserID: u.ID, BotID: "bot"}))
		for _, st := range []string{tt.first, tt.last} {
			_, err := s.AddMessage(ctx, store.Message{ConversationID: tt.id, UserID: u.ID, Role: store.RoleAssistant, Status: st})
			mustNoErr(t, "AddMessage", err)
		}
		// A later user message does not hide the reply's status.
		_, err := s.AddMessage(ctx, store.Message{ConversationID: tt.id, UserID: u.ID, Role: store.RoleUser, Status: store.StatusComplete})
		mustNoErr(t, "AddMessage user", err)
	}
	mustNoErr(t, "UpsertConversation empty", s.UpsertConversation(ctx, store.Conversation{ID: "empty", UserID: u.ID, BotID: "bot"}))
	list, err := s.ListConversations(ctx, u.ID, "", "", 0)
	mustNoErr(t, "ListConversations", err)
	got := map[string]string{}
	for _, c := range list {
		got[c.ID] = c.LastStatus
	}
	want := map[string]string{"streaming": "streaming", "canceled": "canceled", "failed": "failed", "complete": "complete", "empty": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LastStatus (-want +got):\n%s", diff)
	}
}

// conversationIDs returns the ids ListConversations lists, in its order.
func conversationIDs(t *testing.T, s *store.Store, userID int64, botID, q string, limit int) []string {
	t.Helper()
	list, err := s.ListConversations(t.Context(), userID, botID, q, limit)
	mustNoErr(t, "ListConversations", err)
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids
}

// wantNoConversation checks that userID finds neither conversation id nor any
// message of it.
func wantNoConversation(t *testing.T, s *store.Store, userID int64, id, what string) {
	t.Helper()
	_, err := s.ConversationByID(t.Context(), userID, id)
	wantErr(t, what+": ConversationByID", err, store.ErrNotFound)
	msgs, err := s.Messages(t.Context(), userID, id)
	mustNoErr(t, what+": Messages", err)
	if len(msgs) != 0 {
		t.Errorf("%s: Messages = %d, want 0", what, len(msgs))
	}
}

// testConversationIsolation: user B can neither see nor change A's history.
func testConversationIsolation(t *testing.T, s *store.Store) {
	ctx := t.Context()
	a, b := MustUser(t, s, "Alan"), MustUser(t, s, "Bea")
	mustNoErr(t, "UpsertConversation", s.UpsertConversation(ctx, store.Conversation{ID: "conv-a", UserID: a.ID, BotID: "bot", Title: "secret plans"}))
	m, err := s.AddMessage(ctx, store.Message{ConversationID: "conv-a", UserID: a.ID, Role: store.RoleAssistant, Content: "the secret answer", ChatID: "chat-a", Status: store.StatusComplete})
	mustNoErr(t, "AddMessage", err)

	wantNoConversation(t, s, b.ID, "conv-a", "B")
	wantErr(t, "B RenameConversation", s.RenameConversation(ctx, b.ID, "conv-a", "pwned"), store.ErrNotFound)
	wantErr(t, "B DeleteConversation", s.DeleteConversation(ctx, b.ID, "conv-a"), store.ErrNotFound)
	_, err = s.AddMessage(ctx, store.Message{ConversationID: "conv-a", UserID: b.ID, Role: store.RoleUser, Content: "injected"})
	wantErr(t, "B AddMessage into A's conversation", err, store.ErrNotFound)
	wantErr(t, "B UpdateMessage", s.UpdateMessage(ctx, store.Message{ID: m.ID, UserID: b.ID, Content: "pwned", Status: store.StatusComplete}), store.ErrNotFound)
	_, err = s.MessageByChatID(ctx, b.ID, "chat-a")
	wantErr(t, "B MessageByChatID", err, store.ErrNotFound)
	for _, q := range []string{"", "secret"} {
		if ids := conversationIDs(t, s, b.ID, "", q, 0); len(ids) != 0 {
			t.Errorf("B ListConversations(q=%q) = %v, want none", q, ids)
		}
	}

	// B may hold a conversation with the same Coze id without touching A's.
	mustNoErr(t, "B UpsertConversation same id", s.UpsertConversation(ctx, store.Conversation{ID: "conv-a", UserID: b.ID, BotID: "bot", Title: "mine"}))
	got, err := s.ConversationByID(ctx, a.ID, "conv-a")
	mustNoErr(t, "A ConversationByID", err)
	if got.Title != "secret plans" {
		t.Errorf("A's title = %q after B's upsert, want unchanged", got.Title)
	}
	msgs, err := s.Messages(ctx, a.ID, "conv-a")
	mustNoErr(t, "A Messages", err)
	if len(msgs) != 1 || msgs[0].Content != "the secret answer" {
		t.Errorf("A's messages = %+v, want the original one unchanged", msgs)
	}
}

func testMessages(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u := mustConversation(t, s)

	m1, err := s.AddMessage(ctx, store.Message{ConversationID: "conv", UserID: u.ID, Role: store.RoleUser, Content: "你好 hello", ChatID: "chat-1", Status: store.StatusComplete, CreatedAt: at(0)})
	mustNoErr(t, "AddMessage user", err)
	m2, err := s.AddMessage(ctx, store.Message{ConversationID: "conv", UserID: u.ID, Role: store.RoleAssistant, ChatID: "chat-1", Status: store.StatusStreaming, CreatedAt: at(time.Second)})
	mustNoErr(t, "AddMessage assistant", err)
	if m1.ID == 0 || m2.ID <= m1.ID {
		t.Fatalf("IDs = %d, %d; want increasing and non-zero", m1.ID, m2.ID)
	}
	if !m2.UpdatedAt.Equal(at(time.Second)) {
		t.Errorf("UpdatedAt = %v, want CreatedAt %v", m2.UpdatedAt, at(time.Second))
	}
	_, err = s.AddMessage(ctx, store.Message{ConversationID: "missing", UserID: u.ID, Role: store.RoleUser})
	wantErr(t, "AddMessage(missing conversation)", err, store.ErrNotFound)

	m2.Content, m2.Status, m2.ErrorCode = "answer **markdown**", store.StatusComplete, ""
	m2.FollowUps = []string{"more?", "why \"quoted\""}
	m2.Usage = []byte(`{"token_count":30,"output_count":20,"input_count":10}`)
	m2.UpdatedAt = at(5 * time.Second)
	mustNoErr(t, "UpdateMessage", s.UpdateMessage(ctx, m2))
	wantErr(t, "UpdateMessage(missing)", s.UpdateMessage(ctx, store.Message{ID: 987654321, UserID: u.ID}), store.ErrNotFound)

	msgs, err := s.Messages(ctx, u.ID, "conv")
	wantEqual(t, "Messages", []store.Message{m1, m2}, msgs, err)

	got, err := s.MessageByChatID(ctx, u.ID, "chat-1")
	wantEqual(t, "MessageByChatID", m2, got, err)
	_, err = s.MessageByChatID(ctx, u.ID, "chat-none")
	wantErr(t, "MessageByChatID(missing)", err, store.ErrNotFound)

	// Clearing optional fields stores them as empty again.
	m2.FollowUps, m2.Usage, m2.Status, m2.ErrorCode = nil, nil, store.StatusFailed, "upstream_error"
	mustNoErr(t, "UpdateMessage clear", s.UpdateMessage(ctx, m2))
	got, err = s.MessageByChatID(ctx, u.ID, "chat-1")
	mustNoErr(t, "MessageByChatID after clear", err)
	if got.FollowUps != nil || got.Usage != nil || got.ErrorCode != "upstream_error" {
		t.Errorf("after clear: FollowUps=%v Usage=%v ErrorCode=%q", got.FollowUps, got.Usage, got.ErrorCode)
	}
}

// testMessageParts: an assistant reply's thinking, cards and question are
// stored with it and come back byte for byte (docs/stream-contract.md); they
// are empty on messages that never had them, and an update can clear them.
func testMessageParts(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u := mustConversation(t, s)

	plain, err := s.AddMessage(ctx, store.Message{ConversationID: "conv", UserID: u.ID, Role: store.RoleAssistant, Content: "plain", Status: store.StatusComplete, CreatedAt: at(0)})
	mustNoErr(t, "AddMessage plain", err)
	if plain.Reasoning != "" || plain.Cards != nil || plain.Question != nil {
		t.Errorf("plain message parts = %q %s %s, want none", plain.Reasoning, plain.Cards, plain.Question)
	}
	rich := store.Message{ConversationID: "conv", UserID: u.ID, Role: store.RoleAssistant, Content: "17 是质数。", ChatID: "chat-2",
		Status: store.StatusComplete, CreatedAt: at(time.Second),
		Reasoning: "The user asks whether 17 is prime.\n√17 ≈ 4.1 — 思考",
		Cards:     []byte(`[{"title":"Hangzhou","text":"Light rain","image_url":"https://img.example/r.png","links":[{"text":"More","url":"https://example.com/a?b=1&c=2"}],"options":["Tomorrow"]},{"unknown":true}]`),
		Question:  []byte(`{"text":"Which size?","options":["Small","Large \"XL\""]}`),
	}
	rich, err = s.AddMessage(ctx, rich)
	mustNoErr(t, "AddMessage rich", err)
	msgs, err := s.Messages(ctx, u.ID, "conv")
	wantEqual(t, "Messages", []store.Message{plain, rich}, msgs, err)

	// A streaming reply gets its parts at the end, and an update can clear them.
	plain.Reasoning, plain.Cards, plain.Question = "thinking", []byte(`[{"text":"t"}]`), []byte(`{"text":"q","options":[]}`)
	mustNoErr(t, "UpdateMessage set parts", s.UpdateMessage(ctx, plain))
	got, err := s.Messages(ctx, u.ID, "conv")
	mustNoErr(t, "Messages after update", err)
	wantEqual(t, "after update", plain, got[0], nil, cmpopts.IgnoreFields(store.Message{}, "UpdatedAt"))
	plain.Reasoning, plain.Cards, plain.Question = "", nil, nil
	mustNoErr(t, "UpdateMessage clear parts", s.UpdateMessage(ctx, plain))
	last, err := s.MessageByChatID(ctx, u.ID, "chat-2")
	wantEqual(t, "MessageByChatID", rich, last, err)
	got, err = s.Messages(ctx, u.ID, "conv")
	mustNoErr(t, "Messages after clear", err)
	if got[0].Reasoning != "" || got[0].Cards != nil || got[0].Question != nil {
		t.Errorf("after clear parts = %q %s %s, want none", got[0].Reasoning, got[0].Cards, got[0].Question)
	}
}

// testMarkInterrupted: replies left "streaming" by a dead process become
// "incomplete" once older than the cut-off; fresh ones and finished ones stay.
func testMarkInterrupted(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u := mustConversation(t, s)
	add := func(status string, at time.Time) store.Message {
		m, err := s.AddMessage(ctx, store.Message{ConversationID: "conv", UserID: u.ID, Role: store.RoleAssistant, Status: status, CreatedAt: at})
		mustNoErr(t, "AddMessage", err)
		return m
	}
	now := time.Now()
	stale := add(store.StatusStreaming, now.Add(-time.Hour))
	fresh := add(store.StatusStreaming, now)
	done := add(store.StatusComplete, now.Add(-time.Hour))

	n, err := s.MarkInterrupted(ctx, now.Add(-10*time.Minute))
	mustNoErr(t, "MarkInterrupted", err)
	if n != 1 {
		t.Errorf("MarkInterrupted marked %d replies, want 1", n)
	}
	msgs, err := s.Messages(ctx, u.ID, "conv")
	mustNoErr(t, "Messages", err)
	want := map[int64]string{stale.ID: store.StatusIncomplete, fresh.ID: store.StatusStreaming, done.ID: store.StatusComplete}
	for _, m := range msgs {
		if m.Status != want[m.ID] {
			t.Errorf("message %d status = %q, want %q", m.ID, m.Status, want[m.ID])
		}
		if m.ID == stale.ID && m.ErrorCode != "interrupted" {
			t.Errorf("stale reply error code = %q, want interrupted", m.ErrorCode)
		}
	}
}

func testSearch(t *testing.T, s *store.Store) {
	ctx := t.Context()
	u, other := MustUser(t, s, "Alan"), MustUser(t, s, "Bea")

	convs := []struct {
		c    store.Conversation
		msgs []string
	}{
		{store.Conversation{ID: "c-weather", BotID: "bot-a", Title: "Weather in Paris"}, []string{"Is it raining?", "Yes, bring an Umbrella."}},
		{store.Conversation{ID: "c-cjk", BotID: "bot-a", Title: "中文对话"}, []string{"今天天气怎么样？", "今天北京天气晴朗。"}},
		{store.Conversation{ID: "c-percent", BotID: "bot-b", Title: "Discount"}, []string{"50% off", "a_b literal", `back\slash`}},
		{store.Conversation{ID: "c-plain", BotID: "bot-b", Title: "Plain"}, []string{"50 percent off", "axb"}},
	}
	for i, cv := range convs {
		cv.c.UserID, cv.c.CreatedAt, cv.c.UpdatedAt = u.ID, at(time.Duration(i)*time.Minute), at(time.Duration(i)*time.Minute)
		mustNoErr(t, "UpsertConversation", s.UpsertConversation(ctx, cv.c))
		for _, m := range cv.msgs {
			_, err := s.AddMessage(ctx, store.Message{ConversationID: cv.c.ID, UserID: u.ID, Role: store.RoleUser, Content: m})
			mustNoErr(t, "AddMessage", err)
		}
	}
	// Another user's matching history must never show up.
	mustNoErr(t, "UpsertConversation other", s.UpsertConversation(ctx, store.Conversation{ID: "c-other", UserID: other.ID, Title: "Weather 天气 50% a_b"}))

	tests := []struct {
		name, q, botID string
		want           []string
	}{
		{"title, case-insensitive", "paris", "", []string{"c-weather"}},
		{"title, upper query", "WEATHER", "", []string{"c-weather"}},
		{"message content, case-insensitive", "umbrella", "", []string{"c-weather"}},
		{"CJK in message", "天气", "", []string{"c-cjk"}},
		{"CJK in title", "中文", "", []string{"c-cjk"}},
		{"CJK full-width punctuation", "怎么样？", "", []string{"c-cjk"}},
		{"percent is literal", "50%", "", []string{"c-percent"}},
		{"lone percent", "%", "", []string{"c-percent"}},
		{"underscore is literal", "a_b", "", []string{"c-percent"}},
		{"backslash is literal", `k\s`, "", []string{"c-percent"}},
		{"with bot filter", "50", "bot-b", []string{"c-plain", "c-percent"}},
		{"bot filter excludes", "天气", "bot-b", nil},
		{"no match", "zebra", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := conversationIDs(t, s, u.ID, tt.botID, tt.q, 0); !cmp.Equal(got, tt.want) {
				t.Errorf("ListConversations(q=%q, bot=%q) = %v, want %v", tt.q, tt.botID, got, tt.want)
			}
		})
	}
}

// testUploadedFiles: a file's kind is found only by the user who uploaded it;
// recording it again replaces the kind; a missing user is ErrNotFound; old
// records are swept.
func testUploadedFiles(t *testing.T, s *store.Store) {
	ctx := t.Context()
	alan, bea := MustUser(t, s, "Alan"), MustUser(t, s, "Bea")

	put := func(u store.User, id, kind string, d time.Duration) {
		t.Helper()
		mustNoErr(t, "PutUploadedFile "+id, s.PutUploadedFile(ctx, store.UploadedFile{UserID: u.ID, ID: id, Kind: kind, CreatedAt: at(d)}))
	}
	put(alan, "7001", "image", 0)
	put(alan, "7002", "audio", time.Hour)
	put(alan, "7003", "file", 2*time.Hour)
	put(bea, "7004", "image", 0)
	put(alan, "7003", "image", 3*time.Hour) // the same upload recorded again

	kinds, err := s.UploadedFileKinds(ctx, alan.ID, []string{"7001", "7002", "7003", "7004", "9999"})
	wantEqual(t, "Alan's kinds", map[string]string{"7001": "image", "7002": "audio", "7003": "image"}, kinds, err)
	kinds, err = s.UploadedFileKinds(ctx, bea.ID, []string{"7001", "7004"})
	wantEqual(t, "Bea's kinds", map[string]string{"7004": "image"}, kinds, err)
	kinds, err = s.UploadedFileKinds(ctx, alan.ID, nil)
	if err != nil || len(kinds) != 0 {
		t.Errorf("UploadedFileKinds(nil) = %v, %v; want empty", kinds, err)
	}

	err = s.PutUploadedFile(ctx, store.UploadedFile{UserID: 987654321, ID: "7005", Kind: "file"})
	wantErr(t, "PutUploadedFile(missing user)", err, store.ErrNotFound)

	n, err := s.DeleteUploadedFilesBefore(ctx, at(90*time.Minute))
	mustNoErr(t, "DeleteUploadedFilesBefore", err)
	if n != 3 {
		t.Errorf("DeleteUploadedFilesBefore deleted %d, want 3 (7001, 7002, 7004)", n)
	}
	kinds, err = s.UploadedFileKinds(ctx, alan.ID, []string{"7001", "7002", "7003"})
	wantEqual(t, "kinds after sweep", map[string]string{"7003": "image"}, kinds, err)
}

// testReplyEvents: a reply's events come back in id order after an id, only
// to its user; a batch written again changes nothing; batches larger than one
// INSERT keep every event; old events are deleted.
func testReplyEvents(t *testing.T, s *store.Store) {
	ctx := t.Context()
	alan, bea := MustUser(t, s, "Alan"), MustUser(t, s, "Bea")

	evs := make([]store.ReplyEvent, 1500) // more than one INSERT takes
	for i := range evs {
		evs[i] = store.ReplyEvent{ID: int64(i + 1), Name: "delta", Data: fmt.Appendf(nil, `{"text":"%d"}`, i+1)}
	}
	evs[0].Name, evs[len(evs)-1].Name = "chat", "end"
	mustNoErr(t, "AppendReplyEvents", s.AppendReplyEvents(ctx, "chat:1", alan.ID, evs[:1200]))
	mustNoErr(t, "AppendReplyEvents again", s.AppendReplyEvents(ctx, "chat:1", alan.ID, evs[1190:]))
	mustNoErr(t, "AppendReplyEvents other reply", s.AppendReplyEvents(ctx, "chat:2", bea.ID, evs[:1]))

	got, err := s.ReplyEventsAfter(ctx, "chat:1", alan.ID, 1195, 10)
	wantEqual(t, "events after 1195", evs[1195:1205], got, err)
	got, err = s.ReplyEventsAfter(ctx, "chat:1", alan.ID, 0, 5000)
	wantEqual(t, "all events", evs, got, err)
	if got, err := s.ReplyEventsAfter(ctx, "chat:1", bea.ID, 0, 10); err != nil || len(got) != 0 {
		t.Errorf("Bea reads Alan's reply: %d events, %v; want none", len(got), err)
	}

	first, last, err := s.ReplyEventBounds(ctx, "chat:1", alan.ID)
	mustNoErr(t, "ReplyEventBounds", err)
	if first.ID != 1 || first.Name != "chat" || last.ID != 1500 || last.Name != "end" {
		t.Errorf("bounds = %d %s .. %d %s, want 1 chat .. 1500 end", first.ID, first.Name, last.ID, last.Name)
	}
	_, _, err = s.ReplyEventBounds(ctx, "chat:1", bea.ID)
	wantErr(t, "ReplyEventBounds of another user's reply", err, store.ErrNotFound)
	_, _, err = s.ReplyEventBounds(ctx, "chat:3", alan.ID)
	wantErr(t, "ReplyEventBounds of an unknown reply", err, store.ErrNotFound)

	n, err := s.DeleteReplyEventsBefore(ctx, time.Now().Add(-time.Hour))
	if err != nil || n != 0 {
		t.Errorf("DeleteReplyEventsBefore(an hour ago) = %d, %v; want 0", n, err)
	}
	n, err = s.DeleteReplyEventsBefore(ctx, time.Now().Add(time.Minute))
	if err != nil || n != 1501 {
		t.Errorf("DeleteReplyEventsBefore(now) = %d, %v; want 1501", n, err)
	}
	_, _, err = s.ReplyEventBounds(ctx, "chat:1", alan.ID)
	wantErr(t, "ReplyEventBounds after deletion", err, store.ErrNotFound)
}
