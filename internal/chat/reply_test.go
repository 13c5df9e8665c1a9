package chat

import (
	"slices"
	"testing"

	"github.com/coze2app/coze2app/internal/coze"
)

// REFERENCE §16.3: deltas append per message id, message.completed replaces, several
// answers are joined by a blank line, follow-ups come from completed follow_up messages,
// and other message types are not part of the answer.
func TestReplyAccumulates(t *testing.T) {
	var rep reply
	steps := []struct {
		m         coze.Message
		completed bool
	}{
		{coze.Message{ID: "a", Type: "answer", Content: "Hel"}, false},
		{coze.Message{ID: "a", Type: "answer", Content: "lo"}, false},
		{coze.Message{ID: "f", Type: "function_call", Content: `{"name":"x"}`}, true},
		{coze.Message{ID: "b", Type: "answer", Content: "Sec"}, false},
		{coze.Message{ID: "a", Type: "answer", Content: "Hello!"}, true},
		{coze.Message{ID: "b", Type: "answer", Content: "ond"}, false},
		{coze.Message{ID: "v", Type: "verbose", Content: `{"msg_type":"generate_answer_finish"}`}, true},
		{coze.Message{ID: "u1", Type: "follow_up", Content: "Why?"}, true},
		{coze.Message{ID: "u2", Type: "follow_up", Content: "How?"}, true},
	}
	for _, s := range steps {
		rep.add(s.m, s.completed, 1<<20)
	}
	if got, want := rep.answer(), "Hello!\n\nSecond"; got != want {
		t.Errorf("answer = %q, want %q", got, want)
	}
	if want := []string{"Why?", "How?"}; !slices.Equal(rep.followUps, want) {
		t.Errorf("follow-ups = %q, want %q", rep.followUps, want)
	}
}

// The accumulated answer stays within the byte limit.
func TestReplyBounded(t *testing.T) {
	var rep reply
	for range 100 {
		rep.add(coze.Message{ID: "a", Type: "answer", Content: "0123456789"}, false, 55)
	}
	if got := len(rep.answer()); got != 50 {
		t.Errorf("answer length = %d, want 50 (bounded)", got)
	}
}
