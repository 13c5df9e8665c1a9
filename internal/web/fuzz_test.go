package web

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/store"
)

// Catalog case 58 for the web layer: the request decoder with the chat
// request validation, and the export renderer. Seeds live in
// testdata/fuzz/<Name>; run longer with
//
//	go test -run '^$' -fuzz FuzzChatRequest -fuzztime 10m ./internal/web/

func FuzzChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"bot_id":"7394000000000000001","message":"hi"}`,
		`{"bot_id":"7394000000000000001","message":"hi","stream":true,"conversation_id":"1","file_ids":["2"]}`,
		`{"bot_id":"1","bot_id":"2","message":"x"}`,
		`{"bot_id":"1","message":"\u0000"}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`{"a":"\"[[[[{{{{"}`,
		"{\"bot_id\":\"1\",\"message\":\"\xff\"}",
		`{"bot_id":"1","message":"hi"} {}`,
		`null`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/chat", bytes.NewReader(body))
		w := httptest.NewRecorder()
		var req chatRequest
		err := decodeJSON(w, r, &req)
		if err == nil {
			_, err = chat.Validate(chat.StartRequest{BotID: req.BotID, BotName: req.BotName, Message: req.Message,
				ConversationID: req.ConversationID, FileIDs: req.FileIDs})
		}
		if err != nil {
			ae, ok := toAPIError(err)
			if !ok || (ae.Status != 400 && ae.Status != 413) {
				t.Fatalf("error %v maps to %+v, want a 400/413", err, ae)
			}
			en, _ := ae.render(langEn)
			zh, _ := ae.render(langZh)
			if !utf8.ValidString(en) || !utf8.ValidString(zh) {
				t.Fatalf("error message is not valid UTF-8: %q", en)
			}
			return
		}
		switch {
		case !utf8.Valid(body):
			t.Fatalf("accepted invalid UTF-8")
		case !isDigits(req.BotID, 30):
			t.Fatalf("accepted bot_id %q", req.BotID)
		case req.ConversationID != "" && !isDigits(req.ConversationID, 30):
			t.Fatalf("accepted conversation_id %q", req.ConversationID)
		case req.Message == "" && len(req.FileIDs) == 0:
			t.Fatalf("accepted an empty turn")
		case strings.ContainsRune(req.Message, 0) || utf8.RuneCountInString(req.Message) > maxMessageRunes:
			t.Fatalf("accepted message %q", truncate(req.Message, 50))
		case len(req.FileIDs) > 10:
			t.Fatalf("accepted %d files", len(req.FileIDs))
		}
		for _, id := range req.FileIDs {
			if !isDigits(id, 30) {
				t.Fatalf("accepted file id %q", id)
			}
		}
	})
}

func FuzzExport(f *testing.F) {
	f.Add("Title", "Bot", "7394000000000000001", "hello **world**", "assistant", "complete")
	f.Add("a\nb\r\n# injected", "bot\x00name", "", "---\n# fake heading\n", "user", "incomplete")
	f.Add("👩‍👩‍👧‍👦\u202e", "", "1", "\xff\xfe", "assistant", "")
	f.Fuzz(func(t *testing.T, title, botName, botID, content, role, status string) {
		now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
		c := store.Conversation{ID: "7450000000000000001", UserID: 1, BotID: botID, BotName: botName, Title: title, CreatedAt: now, UpdatedAt: now}
		msgs := []store.Message{
			{ID: 1, ConversationID: c.ID, UserID: 1, Role: "user", Content: content, Status: "complete", CreatedAt: now},
			{ID: 2, ConversationID: c.ID, UserID: 1, Role: role, Content: content, Status: status, FollowUps: []string{content},
				Usage: []byte(content), Reasoning: content, Cards: []byte(content), Question: []byte(content), CreatedAt: now},
		}
		md := renderMarkdownExport(langEn, c, msgs, len(content)%2 == 0)
		first, _, _ := strings.Cut(md, "\n")
		wantTitle := oneLine(title)
		if strings.TrimSpace(wantTitle) == "" {
			wantTitle = messages.text(langEn, "history.untitled", nil)
		}
		if first != "# "+wantTitle {
			t.Fatalf("first line %q, want the title on one line", first)
		}
		if strings.ContainsAny(oneLine(title), "\n\r") || strings.ContainsAny(oneLine(botName), "\n\r") {
			t.Fatalf("oneLine kept a line break")
		}
		// As written, but with its own headings fitted under the export's outline.
		if !strings.Contains(md, demoteHeadings(content)) {
			t.Fatalf("the message text is not in the export")
		}
		if utf8.ValidString(title) && utf8.ValidString(botName) && utf8.ValidString(botID) &&
			utf8.ValidString(content) && utf8.ValidString(status) && !utf8.ValidString(md) {
			t.Fatalf("valid input gave invalid UTF-8")
		}
		out := []messageJSON{toMessageJSON(msgs[0]), toMessageJSON(msgs[1])}
		b, err := json.Marshal(map[string]any{"conversation": toConversationJSON(c), "messages": out})
		if err != nil {
			t.Fatalf("JSON export: %v", err)
		}
		var back messagesBody
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("JSON export does not parse back: %v", err)
		}
		if utf8.ValidString(content) && back.Messages[0].Content != content {
			t.Fatalf("JSON export changed the text: %q -> %q", content, back.Messages[0].Content)
		}
	})
}
