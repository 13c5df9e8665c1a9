package coze_test

import (
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/coze2app/coze2app/internal/coze"
)

func apiCode(err error) int {
	var ae *coze.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return -1
}

// streamEvents reads a stream to its end and returns the events and the final error.
func streamEvents(t *testing.T, s *coze.Stream, err error) ([]coze.Event, error) {
	t.Helper()
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	defer s.Close()
	var out []coze.Event
	for range 10000 {
		e, err := s.Next()
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	t.Fatal("stream does not end")
	return nil, nil
}

func names(evs []coze.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Name)
	}
	return out
}

// streamNames runs a streaming chat to EOF and returns the event names.
func streamNames(t *testing.T, c *coze.Client, tok coze.AccessToken, r coze.ChatRequest) []string {
	t.Helper()
	s, err := c.StreamChat(runCtx(t), tok, r)
	evs, err := streamEvents(t, s, err)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("stream end = %v, want io.EOF", err)
	}
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	return names(evs)
}

// answerText returns the completed answer text of a chat stream and checks that the
// deltas add up to it.
func answerText(t *testing.T, evs []coze.Event) (chat coze.Chat, text string) {
	t.Helper()
	var deltas string
	for _, e := range evs {
		switch e.Name {
		case coze.EventChatCreated, coze.EventChatCompleted, coze.EventChatFailed, coze.EventChatRequiresAction:
			ch, err := e.Chat()
			if err != nil {
				t.Fatalf("Chat(): %v", err)
			}
			if chat.ID == "" || e.Name != coze.EventChatCreated {
				chat = ch
			}
		case coze.EventMessageDelta, coze.EventMessageCompleted:
			m, err := e.Message()
			if err != nil {
				t.Fatalf("Message(): %v", err)
			}
			if m.Type != "answer" {
				continue
			}
			if e.Name == coze.EventMessageDelta {
				deltas += m.Content
			} else {
				text = m.Content
			}
		}
	}
	if deltas != "" && deltas != text {
		t.Errorf("deltas %q do not add up to completed %q", deltas, text)
	}
	return chat, text
}

func jsonDecode(b []byte, v any) error { return json.Unmarshal(b, v) }
