package web

import (
	"bufio"
	"encoding/json"
	"fmt"
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
	ConversationID string            `json:"conversation_id"`
	ChatID         string            `json:"chat_id"`
	Answer         string            `json:"answer"`
	Reasoning      string            `json:"reasoning"`
	Cards          []json.RawMessage `json:"cards"`
	Question       json.RawMessage   `json:"question"`
	FollowUps      []string          `json:"follow_ups"`
	Usage          *struct {
		TokenCount  int `json:"token_count"`
		OutputCount int `json:"output_count"`
		InputCount  int `json:"input_count"`
	} `json:"usage"`
}

// mustChat sends one non-stream turn and returns the reply.
func mustChat(t testing.TB, e *testEnv, c *http.Client, botID, msg, convID string) chatResult {
	t.Helper()
	r := postChat(t, e, c, botID, msg, convID, false)
	return decode[chatResult](t, r)
}

// postChat sends one turn, which must answer 200.
func postChat(t testing.TB, e *testEnv, c *http.Client, botID, msg, convID string, stream bool) resp {
	t.Helper()
	body := map[string]any{"bot_id": botID, "message": msg, "stream": stream}
	if convID != "" {
		body["conversation_id"] = convID
	}
	r := e.api(c, "POST", "/api/chat", body)
	mustStatus(t, fmt.Sprintf("POST /api/chat (stream %v)", stream), r, http.StatusOK)
	return r
}

// mustStream sends one stream:true turn and returns the events.
func mustStream(t testing.TB, e *testEnv, c *http.Client, botID, msg, convID string) (resp, []sseEvent) {
	t.Helper()
	r := postChat(t, e, c, botID, msg, convID, true)
	return r, parseSSE(t, r.body)
}

// chatIDs returns the conversation and chat id from our chat event.
func chatIDs(t testing.TB, evs []sseEvent) (convID, chatID string) {
	t.Helper()
	for _, ev := range evs {
		if ev.name == "chat" {
			var v struct {
				ConversationID string `json:"conversation_id"`
				ChatID         string `json:"chat_id"`
			}
			if err := json.Unmarshal([]byte(ev.data), &v); err != nil {
				t.Fatalf("chat data %q: %v", ev.data, err)
			}
			return v.ConversationID, v.ChatID
		}
	}
	t.Fatalf("no chat event in %d events", len(evs))
	return "", ""
}

// deltaText joins the text of every delta event.
func deltaText(t testing.TB, evs []sseEvent) string {
	t.Helper()
	var b strings.Builder
	for _, ev := range evs {
		if ev.name != "delta" {
			continue
		}
		var m struct {
			MessageID string `json:"message_id"`
			Text      string `json:"text"`
		}
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
			t.Fatalf("delta data %q: %v", ev.data, err)
		}
		b.WriteString(m.Text)
	}
	return b.String()
}

// streamEnd is the data of the end event, which must be the last of evs.
type streamEnd struct {
	Status  string          `json:"status"`
	Code    string          `json:"code"`
	Key     string          `json:"key"`
	Message string          `json:"message"`
	Usage   json.RawMessage `json:"usage"`
}

func endOf(t testing.TB, evs []sseEvent) streamEnd {
	t.Helper()
	if len(evs) == 0 || evs[len(evs)-1].name != "end" {
		t.Fatalf("stream does not end with an end event: %+v", evs)
	}
	var e streamEnd
	if err := json.Unmarshal([]byte(evs[len(evs)-1].data), &e); err != nil {
		t.Fatalf("end data %q: %v", evs[len(evs)-1].data, err)
	}
	return e
}
