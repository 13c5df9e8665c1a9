package chat_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// A whole reply is relayed event by event with ids 1..N as our events only — chat first,
// deltas, follow-ups, end last — and recorded: conversation (title), user message,
// assistant message with the relayed answer, follow-ups and usage.
func TestStreamRelaysAndRecords(t *testing.T) {
	h := mustHarness(t)
	msg := strings.Repeat("长", 70) + " hello"
	evs := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, BotName: "Assistant", Message: msg}).all(t)

	if len(evs) < 4 {
		t.Fatalf("got %d events, want a full reply", len(evs))
	}
	ours := map[string]bool{chat.EventChat: true, chat.EventReasoning: true, chat.EventDelta: true, chat.EventCard: true,
		chat.EventQuestion: true, chat.EventFollowUp: true, chat.EventEnd: true}
	var followUps []string
	for i, ev := range evs {
		if ev.ID != strconv.Itoa(i+1) {
			t.Fatalf("event %d id = %q, want %d", i, ev.ID, i+1)
		}
		if !ours[ev.Name] || !json.Valid([]byte(ev.Data)) || strings.Contains(ev.Data, "conversation.") {
			t.Errorf("event %d = %q %q, want one of ours with JSON data", i, ev.Name, ev.Data)
		}
		if ev.Name == chat.EventFollowUp {
			var f struct{ Text string }
			json.Unmarshal([]byte(ev.Data), &f)
			followUps = append(followUps, f.Text)
		}
	}
	if evs[0].Name != chat.EventChat {
		t.Errorf("first event = %+v, want chat", evs[0])
	}
	end := endOf(t, evs)
	if end.Status != chat.EndCompleted || end.Code != "" || end.Message != "" || end.Usage == nil || end.Usage.TokenCount == 0 {
		t.Errorf("end = %+v, want completed with usage", end)
	}
	convID, chatID := chatIDs(t, evs)
	run := h.mustRun(t, h.alan, chatID)
	if st, code := run.Status(); st != "complete" || code != "" {
		t.Errorf("run status = %q %q, want complete", st, code)
	}

	// The stored answer is exactly what the deltas carried (the sim's completed text).
	answer := deltaText(t, evs)
	m := h.mustMessage(t, h.alan, chatID)
	if answer == "" || m.Content != answer || m.Status != "complete" || m.ConversationID != convID {
		t.Errorf("stored = {status %q conv %q content %q}, want complete %q %q", m.Status, m.ConversationID, m.Content, convID, answer)
	}
	if len(m.FollowUps) != 3 || !slices.Equal(m.FollowUps, followUps) {
		t.Errorf("follow-ups = %q, relayed %q, want the same 3", m.FollowUps, followUps)
	}
	var u coze.Usage
	if err := json.Unmarshal(m.Usage, &u); err != nil || u != *end.Usage {
		t.Errorf("usage = %s (%v), want the end event's %+v", m.Usage, err, end.Usage)
	}
	conv, err := h.store.ConversationByID(t.Context(), h.alan.ID, convID)
	if err != nil {
		t.Fatalf("conversation: %v", err)
	}
	if n := utf8.RuneCountInString(conv.Title); n != chat.MaxTitleRunes || !strings.HasPrefix(msg, conv.Title) || conv.BotName != "Assistant" {
		t.Errorf("conversation = title %q (%d runes), bot name %q; want the first %d runes", conv.Title, n, conv.BotName, chat.MaxTitleRunes)
	}
	msgs, err := h.store.Messages(t.Context(), h.alan.ID, convID)
	if err != nil || len(msgs) != 2 || msgs[0].Role != "user" || msgs[0].Content != msg {
		t.Errorf("messages = %+v (%v), want the user's message then the reply", msgs, err)
	}
	// Coze got an opaque user id, not the internal or Coze one.
	for _, r := range h.sim.Requests() {
		if r.Path == "/v3/chat" {
			var body struct {
				UserID string `json:"user_id"`
			}
			json.Unmarshal(r.Body, &body)
			if body.UserID != chat.CozeUserID(h.alan) || strings.Contains(body.UserID, cozesim.UserAlan) {
				t.Errorf("user_id = %q, want %q", body.UserID, chat.CozeUserID(h.alan))
			}
		}
	}
}

// Deltas reach the browser while the upstream is still open: each event is flushed as it
// arrives (catalog F.46, STYLE rule 13).
func TestRelayFlushesEachEvent(t *testing.T) {
	h := mustHarness(t)
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, SilentAfterEvents: 4})
	s := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "hi chunk=3"})
	evs := s.until(t, chat.EventDelta, 2) // the sim is now stalled
	convID, chatID := chatIDs(t, evs)
	if got := deltaText(t, evs); utf8.RuneCountInString(got) != 6 {
		t.Errorf("deltas so far = %q, want 6 runes", got)
	}
	if st, _ := h.mustLookup(t, chatID).Status(); st != "streaming" {
		t.Errorf("status = %q while upstream is open, want streaming", st)
	}
	if m := h.mustMessage(t, h.alan, chatID); m.Status != "streaming" {
		t.Errorf("stored status = %q, want streaming", m.Status)
	}
	if err := h.svc.Cancel(t.Context(), h.alan, convID, chatID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	rest := s.all(t)
	if len(rest) != 1 || endOf(t, rest).Status != chat.EndCanceled {
		t.Errorf("after cancel got %+v, want one end event, canceled", rest)
	}
}

func (h *harness) mustLookup(tb testing.TB, chatID string) *chat.Run {
	tb.Helper()
	run, ok := h.svc.Lookup(h.alan.ID, chatID)
	if !ok {
		tb.Fatalf("no run %s", chatID)
	}
	return run
}

// A second turn in the returned conversation continues it: the Memory bot remembers.
func TestMultiTurnMemory(t *testing.T) {
	h := mustHarness(t)
	first, err := h.svc.Complete(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotMemory, BotName: "Memory", Message: "my cat is Mochi"})
	if err != nil {
		t.Fatalf("first turn: %v", err)
	}
	if first.ConversationID == "" || first.ChatID == "" || first.Answer == "" || len(first.FollowUps) == 0 || first.Usage == nil {
		t.Fatalf("first result = %+v, want ids, answer, follow-ups, usage", first)
	}
	second, err := h.svc.Complete(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotMemory, Message: "what is my cat?", ConversationID: first.ConversationID})
	if err != nil {
		t.Fatalf("second turn: %v", err)
	}
	if second.ConversationID != first.ConversationID {
		t.Errorf("conversation = %s, want %s", second.ConversationID, first.ConversationID)
	}
	if !strings.Contains(second.Answer, "turn 2") || !strings.Contains(second.Answer, "my cat is Mochi") {
		t.Errorf("second answer = %q, want turn 2 remembering the first message", second.Answer)
	}
	msgs, err := h.store.Messages(t.Context(), h.alan.ID, first.ConversationID)
	if err != nil || len(msgs) != 4 {
		t.Fatalf("messages = %d (%v), want 4", len(msgs), err)
	}
	if msgs[3].Content != second.Answer || msgs[3].Status != "complete" {
		t.Errorf("last stored = %q %q, want %q complete", msgs[3].Status, msgs[3].Content, second.Answer)
	}
	conv, _ := h.store.ConversationByID(t.Context(), h.alan.ID, first.ConversationID)
	if conv.Title != "my cat is Mochi" {
		t.Errorf("title = %q, want the first message", conv.Title)
	}
}
