package chat

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/coze2app/coze2app/internal/coze"
)

// coze-protocol §16.3: deltas append per message id, message.completed only adds what
// the deltas had not carried yet, several answers are joined by a blank line, follow-ups
// come from completed follow_up messages, and other message types are not part of the
// answer. Every event the browser gets is exactly what the reply keeps.
func TestReplyAccumulates(t *testing.T) {
	rep := reply{limit: 1 << 20}
	steps := []struct {
		m         coze.Message
		completed bool
		want      string // our events for it, encoded
	}{
		{coze.Message{ID: "a", Type: "answer", Content: "Hel"}, false, `delta {"message_id":"a","text":"Hel"}`},
		{coze.Message{ID: "a", Type: "answer", Content: "lo"}, false, `delta {"message_id":"a","text":"lo"}`},
		{coze.Message{ID: "f", Type: "function_call", Content: `{"name":"x"}`}, true, ``},
		{coze.Message{ID: "k", Type: "verbose", Content: `{"msg_type":"knowledge_recall","data":"{}"}`}, true, ``},
		{coze.Message{ID: "b", Type: "answer", Content: "Sec"}, false, `delta {"message_id":"b","text":"Sec"}`},
		{coze.Message{ID: "a", Type: "answer", Content: "Hello!"}, true, `delta {"message_id":"a","text":"!"}`},
		{coze.Message{ID: "b", Type: "answer", Content: "ond"}, false, `delta {"message_id":"b","text":"ond"}`},
		{coze.Message{ID: "b", Type: "answer", Content: "Second"}, true, ``},
		{coze.Message{ID: "c", Type: "answer", Content: "Whole"}, true, `delta {"message_id":"c","text":"Whole"}`},
		{coze.Message{ID: "v", Type: "verbose", Content: `{"msg_type":"generate_answer_finish"}`}, true, ``},
		{coze.Message{ID: "u1", Type: "follow_up", Content: "Why?"}, true, `follow_up {"text":"Why?"}`},
		{coze.Message{ID: "u2", Type: "follow_up", Content: "How?"}, true, `follow_up {"text":"How?"}`},
		{coze.Message{ID: "x", Type: "answer", Content: "AAAA", ContentType: "audio"}, false, ``},
	}
	for i, s := range steps {
		if got := encodeParts(t, messageParts(s.m, s.completed, &rep)); got != s.want {
			t.Errorf("step %d: events %q, want %q", i, got, s.want)
		}
	}
	if got, want := rep.answer.joined(), "Hello!\n\nSecond\n\nWhole"; got != want {
		t.Errorf("answer = %q, want %q", got, want)
	}
	if want := []string{"Why?", "How?"}; !slices.Equal(rep.followUps, want) {
		t.Errorf("follow-ups = %q, want %q", rep.followUps, want)
	}
}

// A completed message that disagrees with its deltas does not rewrite what the browser
// already shows: the reply keeps the relayed text, so live and history are the same.
func TestReplyKeepsRelayedTextOnMismatch(t *testing.T) {
	rep := reply{limit: 1 << 20}
	messageParts(coze.Message{ID: "a", Type: "answer", Content: "2"}, false, &rep)
	messageParts(coze.Message{ID: "a", Type: "answer", Content: "0"}, false, &rep)
	if got := messageParts(coze.Message{ID: "a", Type: "answer", Content: "星期三"}, true, &rep); got != nil {
		t.Errorf("events = %v, want none", got)
	}
	if got := rep.answer.joined(); got != "20" {
		t.Errorf("answer = %q, want the relayed %q", got, "20")
	}
}

// Thinking (reasoning_content) streams as reasoning events beside the answer deltas and
// is settled by the completed message like the answer.
func TestReplyReasoning(t *testing.T) {
	rep := reply{limit: 1 << 20}
	var got []string
	for _, s := range []struct {
		m         coze.Message
		completed bool
	}{
		{coze.Message{ID: "a", Type: "answer", ReasoningContent: "Think"}, false},
		{coze.Message{ID: "a", Type: "answer", ReasoningContent: "ing"}, false},
		{coze.Message{ID: "a", Type: "answer", Content: "Yes"}, false},
		{coze.Message{ID: "a", Type: "answer", Content: "Yes.", ReasoningContent: "Thinking done"}, true},
	} {
		got = append(got, encodeParts(t, messageParts(s.m, s.completed, &rep)))
	}
	want := []string{
		`reasoning {"message_id":"a","text":"Think"}`,
		`reasoning {"message_id":"a","text":"ing"}`,
		`delta {"message_id":"a","text":"Yes"}`,
		`reasoning {"message_id":"a","text":" done"}|delta {"message_id":"a","text":"."}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if rep.reasoning.joined() != "Thinking done" || rep.answer.joined() != "Yes." {
		t.Errorf("reply = %q / %q", rep.reasoning.joined(), rep.answer.joined())
	}
}

// The accumulated answer stays within the byte limit, and what is over it is not relayed
// either.
func TestReplyBounded(t *testing.T) {
	rep := reply{limit: 55}
	relayed := 0
	for range 100 {
		relayed += len(messageParts(coze.Message{ID: "a", Type: "answer", Content: "0123456789"}, false, &rep))
	}
	if got := len(rep.answer.joined()); got != 50 || relayed != 5 {
		t.Errorf("answer length = %d after %d deltas, want 50 after 5 (bounded)", got, relayed)
	}
}

// encodeParts renders events as "name json|name json".
func encodeParts(t *testing.T, ps []part) string {
	t.Helper()
	out := ""
	for i, p := range ps {
		if !json.Valid(p.data) {
			t.Fatalf("%s: invalid JSON %q", p.name, p.data)
		}
		if i > 0 {
			out += "|"
		}
		out += p.name + " " + string(p.data)
	}
	return out
}

// BenchmarkReplyLongAnswer accumulates a long answer of small deltas (one op: one reply of
// 2000 deltas of 5 bytes); its cost must grow with the answer, not its square.
func BenchmarkReplyLongAnswer(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		rep := reply{limit: 1 << 20}
		for range 2000 {
			messageParts(coze.Message{ID: "a", Type: "answer", Content: "word "}, false, &rep)
		}
		if n := len(rep.answer.joined()); n != 10000 {
			b.Fatalf("answer of %d bytes, want 10000", n)
		}
	}
}
