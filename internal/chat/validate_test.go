package chat_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Catalog H.54–H.56: bad ids and messages are refused before any upstream call.
func TestBadInputRefusedBeforeUpstream(t *testing.T) {
	h := mustHarness(t)
	ok := chat.StartRequest{BotID: cozesim.BotAssistant, Message: "hi"}
	with := func(f func(*chat.StartRequest)) chat.StartRequest { r := ok; f(&r); return r }
	var tests []struct {
		name      string
		req       chat.StartRequest
		wantField string
	}
	add := func(name, field string, req chat.StartRequest) {
		tests = append(tests, struct {
			name      string
			req       chat.StartRequest
			wantField string
		}{name, req, field})
	}
	for _, id := range []string{"", "abc", "-1", "1e9", strings.Repeat("1", 31), strings.Repeat("9", 200), "../v1/x", "%2F", "٣", "12 3", "1\n2"} {
		add("bot_id "+id, "bot_id", with(func(r *chat.StartRequest) { r.BotID = id }))
		if id != "" {
			add("conversation_id "+id, "conversation_id", with(func(r *chat.StartRequest) { r.ConversationID = id }))
		}
		add("file_id "+id, "file_ids", with(func(r *chat.StartRequest) { r.FileIDs = []string{"123", id} }))
	}
	add("too many files", "file_ids", with(func(r *chat.StartRequest) { r.FileIDs = strings.Split(strings.Repeat("1,", 10)+"1", ",") }))
	for name, msg := range map[string]string{
		"empty": "", "blank": " \n\t", "invalid utf-8": "ab\xffcd", "lone surrogate bytes": "\xed\xa0\x80",
		"NUL": "a\x00b", "10001 runes": strings.Repeat("字", chat.MaxMessageRunes+1),
	} {
		add("message "+name, "message", with(func(r *chat.StartRequest) { r.Message = msg }))
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.Start(t.Context(), h.alan, tt.req)
			var be *chat.BadRequestError
			if !errors.Is(err, chat.ErrBadRequest) || !errors.As(err, &be) || be.Field != tt.wantField {
				t.Errorf("Start = %v, want a bad request on %s", err, tt.wantField)
			}
		})
	}
	if n := h.sim.Calls("POST /v3/chat"); n != 0 {
		t.Errorf("upstream chat calls = %d, want 0", n)
	}
}

// Catalog H.56: valid Unicode round-trips byte-exact into the history; the title is cut
// on a rune boundary; a message of exactly the limit is accepted.
func TestUnicodeRoundTrip(t *testing.T) {
	h := mustHarness(t)
	for _, msg := range []string{
		"👩‍👩‍👧‍👦 family 家族 \u202Eevil\u202C zero\u200Bwidth e\u0301 combining",
		strings.Repeat("😀", chat.MaxMessageRunes),
	} {
		res, err := h.svc.Complete(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotMemory, Message: msg})
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		msgs, err := h.store.Messages(t.Context(), h.alan.ID, res.ConversationID)
		if err != nil || len(msgs) != 2 || msgs[0].Content != msg {
			t.Fatalf("stored user message differs (%v)", err)
		}
		conv, _ := h.store.ConversationByID(t.Context(), h.alan.ID, res.ConversationID)
		if !strings.HasPrefix(msg, conv.Title) || conv.Title == "" {
			t.Errorf("title %q is not a rune-boundary prefix of the message", conv.Title)
		}
	}
}

// Files go upstream as an object_string message with a text item and file items.
func TestStartWithFiles(t *testing.T) {
	h := mustHarness(t)
	_, err := h.svc.Start(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotAssistant, Message: "look", FileIDs: []string{"7000000000000000001"}})
	// The sim only knows files uploaded by the user: an unknown id is Coze's error, but
	// the request must have been well-formed object_string.
	var body string
	for _, r := range h.sim.Requests() {
		if r.Path == "/v3/chat" {
			body = string(r.Body)
		}
	}
	if !strings.Contains(body, `"content_type":"object_string"`) || !strings.Contains(body, `\"file_id\":\"7000000000000000001\"`) {
		t.Errorf("chat body = %s (Start err %v), want object_string with the file id", body, err)
	}
}
