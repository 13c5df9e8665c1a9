package coze

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	cr  = EventChatCreated
	ip  = EventChatInProgress
	dl  = EventMessageDelta
	mc  = EventMessageCompleted
	cc  = EventChatCompleted
	dn  = EventDone
	wfm = WorkflowMessage
)

// sseCases lists every .sse fixture with its event names, ids and a semantic check.
var sseCases = []struct {
	fixture   string
	names     []string
	ids       []string
	wantChat  string // chat id from the first chat event
	wantText  string // concatenated answer deltas == completed answer content
	wantError int    // StreamError code of the error event
	stream    string // client method that reads it: chat, workflow
}{
	{"chat_stream_example.sse", []string{cr, ip, dl, dl, dl, dl, mc, mc, cc, dn}, nil, "7382159487131697202", "2024 年 10 月 1 日是星期三。", 0, "chat"},
	{"chat_stream_multimodal_tools.sse", []string{cr, ip, mc, mc, dl, dl, dl, dl, dl, mc, mc, cc, dn}, nil, "7382158397837344768", "*", 0, "chat"},
	{"chat_stream_follow_up.sse", []string{cr, ip, dl, dl, mc, mc, mc, mc, mc, cc, dn}, nil, "7390029769854841234", "以下是今天的体育新闻摘要。", 0, "chat"},
	{"chat_stream_failed.sse", []string{EventChatFailed}, nil, "7390342853760696354", "", 0, "chat"},
	{"chat_stream_error.sse", []string{cr, ip, EventError}, nil, "7382159487131697202", "", 4013, "chat"},
	{"chat_stream_requires_action.sse", []string{cr, ip, mc, EventChatRequiresAction, dn}, nil, "7376662320539591234", "", 0, "chat"},
	{"chat_stream_reasoning.sse", []string{cr, ip, dl, dl, dl, dl, dl, dl, dl, dl, mc, mc, cc, dn}, nil, "7480031245671234501", "Yes, 17 is prime: no whole number between 2 and 4 divides it evenly.", 0, "chat"},
	{"chat_stream_card.sse", []string{cr, ip, mc, dl, dl, mc, mc, cc, dn}, nil, "7480031245671235601", "*", 0, "chat"},
	{"chat_stream_question.sse", []string{cr, ip, dl, dl, mc, mc, mc, mc, EventChatRequiresAction, dn}, nil, "7480031245671236701", "*", 0, "chat"},
	{"chat_stream_verbose.sse", []string{cr, ip, mc, dl, dl, mc, mc, cc, dn}, nil, "7480031245671237801", "We are open on Saturday from 10:00 to 16:00.", 0, "chat"},
	{"chat_stream_audio.sse", []string{cr, ip, dl, mc, mc, cc, EventAudioDelta, dn}, nil, "7433357037570146301", "delta text", 0, "chat"},
	{"workflow_stream_message.sse", []string{wfm, wfm, wfm, wfm, wfm, wfm, WorkflowDone}, []string{"0", "1", "2", "3", "4", "5", "6"}, "", "", 0, "workflow"},
	{"workflow_stream_error.sse", []string{WorkflowError}, []string{"0"}, "", "", 4000, "workflow"},
	{"workflow_stream_interrupt.sse", []string{wfm, WorkflowInterrupt}, []string{"0", "1"}, "", "", 0, "workflow"},
}

func TestFixtureSSE(t *testing.T) {
	for _, tt := range sseCases {
		t.Run(tt.fixture, func(t *testing.T) {
			raw := mustFixture(t, tt.fixture)
			for rname, mk := range readers(string(raw)) {
				er := NewEventReader(mk(), 0)
				var events []Event
				for {
					e, err := er.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatalf("%s: Next: %v", rname, err)
					}
					events = append(events, e)
				}
				checkSSEEvents(t, raw, events, tt.names, tt.ids)
			}
			var events []Event
			er := NewEventReader(bytes.NewReader(raw), 0)
			for e, err := er.Next(); err == nil; e, err = er.Next() {
				events = append(events, e)
			}
			checkSSESemantics(t, events, tt.wantChat, tt.wantText, tt.wantError)
		})
	}
}

func checkSSEEvents(t *testing.T, raw []byte, events []Event, names, ids []string) {
	t.Helper()
	var gotNames, gotIDs []string
	for _, e := range events {
		gotNames = append(gotNames, e.Name)
		if e.ID != "" {
			gotIDs = append(gotIDs, e.ID)
		}
		if !json.Valid(e.Data) {
			t.Errorf("%s: data is not JSON: %q", e.Name, e.Data)
		}
		// Data must be the exact bytes after "data:" / "data: " on the wire.
		if !bytes.Contains(raw, append(append([]byte("data:"), e.Data...), '\n')) &&
			!bytes.Contains(raw, append(append([]byte("data: "), e.Data...), '\n')) {
			t.Errorf("%s: data not byte-identical to the wire: %q", e.Name, e.Data)
		}
	}
	if diff := cmp.Diff(names, gotNames); diff != "" {
		t.Errorf("event names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ids, gotIDs); diff != "" {
		t.Errorf("event ids (-want +got):\n%s", diff)
	}
}

func checkSSESemantics(t *testing.T, events []Event, wantChat, wantText string, wantErr int) {
	t.Helper()
	var chatID string
	deltas := map[string]*strings.Builder{}
	completed := map[string]string{}
	for _, e := range events {
		switch e.Name {
		case EventChatCreated, EventChatInProgress, EventChatCompleted, EventChatFailed, EventChatRequiresAction:
			ch, err := e.Chat()
			if err != nil {
				t.Fatalf("Chat(): %v", err)
			}
			if chatID == "" {
				chatID = ch.ID
			}
			if e.Name == EventChatFailed && (ch.LastError == nil || ch.LastError.Code != 5000) {
				t.Errorf("failed chat last_error = %+v", ch.LastError)
			}
			if e.Name == EventChatRequiresAction && len(ch.ToolCalls()) != 1 {
				t.Errorf("requires_action tool calls = %v", ch.ToolCalls())
			}
			if e.Name == EventChatCompleted && (ch.Usage == nil || ch.Usage.TokenCount == 0) {
				t.Errorf("completed usage = %+v", ch.Usage)
			}
		case EventMessageDelta, EventMessageCompleted:
			m, err := e.Message()
			if err != nil {
				t.Fatalf("Message(): %v", err)
			}
			if m.Type != "answer" {
				continue
			}
			if e.Name == EventMessageDelta {
				if deltas[m.ID] == nil {
					deltas[m.ID] = &strings.Builder{}
				}
				deltas[m.ID].WriteString(m.Content)
			} else {
				completed[m.ID] = m.Content
			}
		case EventError, WorkflowError:
			if code, msg := e.StreamError(); code != wantErr || msg == "" {
				t.Errorf("StreamError = %d %q, want %d", code, msg, wantErr)
			}
		}
	}
	if chatID != wantChat {
		t.Errorf("chat id = %q, want %q", chatID, wantChat)
	}
	// The real capture chat_stream_example.sse was shortened by the docs: its deltas do not
	// add up to the completed text, so only the completed (authoritative, §16.3) text is
	// compared, and every answer with deltas must also have a completed event.
	for id := range deltas {
		if _, ok := completed[id]; !ok {
			t.Errorf("message %s has deltas but no completed event", id)
		}
	}
	for _, text := range completed {
		if wantText != "*" && text != wantText {
			t.Errorf("answer = %q, want %q", text, wantText)
		}
	}
}

func TestStreamErrorShapes(t *testing.T) {
	tests := []struct {
		data     string
		wantCode int
		wantMsg  string
	}{
		{`{"code":4013,"msg":"model"}`, 4013, "model"},
		{`{}`, 0, ""}, // §19 Q21
		{`{"error_code":4000,"error_message":"bad"}`, 4000, "bad"},
		{`{"error_code":"4200","error_message":"x"}`, 4200, "x"},
		{`not json`, 0, ""},
	}
	for _, tt := range tests {
		code, msg := Event{Name: EventError, Data: []byte(tt.data)}.StreamError()
		if code != tt.wantCode || msg != tt.wantMsg {
			t.Errorf("StreamError(%s) = %d %q, want %d %q", tt.data, code, msg, tt.wantCode, tt.wantMsg)
		}
	}
}
