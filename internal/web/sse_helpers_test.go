package web

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// sseEvent is one event as the browser's EventSource would see it.
type sseEvent struct {
	id, name, data string
}

// parseSSE splits a text/event-stream body into events; comments and
// retry: lines are skipped.
func parseSSE(t testing.TB, body []byte) []sseEvent {
	t.Helper()
	var out []sseEvent
	for _, block := range strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n\n") {
		if ev, ok := parseBlock(block); ok {
			out = append(out, ev)
		}
	}
	return out
}

func parseBlock(block string) (sseEvent, bool) {
	var ev sseEvent
	var data []string
	seen := false
	for _, line := range strings.Split(block, "\n") {
		if line == "" || strings.HasPrefix(line, ":") {
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimPrefix(v, " ")
		switch k {
		case "id":
			ev.id, seen = v, true
		case "event":
			ev.name, seen = v, true
		case "data":
			data, seen = append(data, v), true
		}
	}
	ev.data = strings.Join(data, "\n")
	return ev, seen
}

// readEvents reads events from a live stream until stop returns true or the
// body ends; it returns what it read.
func readEvents(t testing.TB, body io.Reader, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	br := bufio.NewReader(body)
	var out []sseEvent
	var block strings.Builder
	for {
		line, err := br.ReadString('\n')
		if line == "\n" || (err != nil && block.Len() > 0) {
			if ev, ok := parseBlock(block.String()); ok {
				out = append(out, ev)
				if stop != nil && stop(ev) {
					return out
				}
			}
			block.Reset()
		} else {
			block.WriteString(line)
		}
		if err != nil {
			return out
		}
	}
}

// chatResult is the stream:false answer of POST /api/chat.
type chatResult struct {
	ConversationID string   `json:"conversation_id"`
	ChatID         string   `json:"chat_id"`
	Answer         string   `json:"answer"`
	FollowUps      []string `json:"follow_ups"`
	Usage          *struct {
		TokenCount  int `json:"token_count"`
		OutputCount int `json:"output_count"`
		InputCount  int `json:"input_count"`
	} `json:"usage"`
}

// mustChat sends one non-stream turn and returns the reply.
func mustChat(t testing.TB, e *testEnv, c *http.Client, botID, msg, convID string) chatResult {
	t.Helper()
	body := map[string]any{"bot_id": botID, "message": msg, "stream": false}
	if convID != "" {
		body["conversation_id"] = convID
	}
	r := e.api(c, "POST", "/api/chat", body)
	mustStatus(t, "POST /api/chat", r, http.StatusOK)
	return decode[chatResult](t, r)
}

// mustStream sends one stream:true turn and returns the events.
func mustStream(t testing.TB, e *testEnv, c *http.Client, botID, msg, convID string) (resp, []sseEvent) {
	t.Helper()
	body := map[string]any{"bot_id": botID, "message": msg, "stream": true}
	if convID != "" {
		body["conversation_id"] = convID
	}
	r := e.api(c, "POST", "/api/chat", body)
	mustStatus(t, "POST /api/chat stream", r, http.StatusOK)
	return r, parseSSE(t, r.body)
}

// chatIDs returns the conversation and chat id from the chat.created event.
func chatIDs(t testing.TB, evs []sseEvent) (convID, chatID string) {
	t.Helper()
	for _, ev := range evs {
		if ev.name == "conversation.chat.created" {
			var v struct {
				ID             string `json:"id"`
				ConversationID string `json:"conversation_id"`
			}
			if err := json.Unmarshal([]byte(ev.data), &v); err != nil {
				t.Fatalf("chat.created data %q: %v", ev.data, err)
			}
			return v.ConversationID, v.ID
		}
	}
	t.Fatalf("no conversation.chat.created event in %d events", len(evs))
	return "", ""
}

// deltaText joins the content of every conversation.message.delta event.
func deltaText(t testing.TB, evs []sseEvent) string {
	t.Helper()
	var b strings.Builder
	for _, ev := range evs {
		if ev.name != "conversation.message.delta" {
			continue
		}
		var m struct {
			Type    string `json:"type"`
			Content string `json:"content"`
		}
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
			t.Fatalf("delta data %q: %v", ev.data, err)
		}
		if m.Type == "" || m.Type == "answer" {
			b.WriteString(m.Content)
		}
	}
	return b.String()
}
