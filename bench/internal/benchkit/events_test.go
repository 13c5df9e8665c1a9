package benchkit

import (
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/coze"
)

// summary is what a benchmark client takes from one stream.
type summary struct {
	chatID, convID string
	deltas         []string
	end            Kind // Completed or Failed; Other when the stream had no end
	reason         string
	others         int
}

func read(t *testing.T, p Protocol, stream string) summary {
	t.Helper()
	var s summary
	rd := coze.NewEventReader(strings.NewReader(stream), 0)
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return s
		}
		if err != nil {
			t.Fatal(err)
		}
		switch k := p.Kind(ev.Name, ev.Data); k {
		case ChatIDs:
			s.chatID, s.convID = p.IDs(ev.Data)
		case Delta:
			s.deltas = append(s.deltas, p.DeltaText(ev.Data))
		case Completed, Failed:
			s.end, s.reason = k, p.Reason(ev.Name, ev.Data)
		default:
			s.others++
		}
	}
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../../internal/coze/testdata/fixtures/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ourStream is a coze2app reply as docs/stream-contract.md describes it.
const ourStream = `id: 1
event: chat
data: {"conversation_id":"7450000000000000001","chat_id":"7450000000000000003"}

: ping

id: 2
event: delta
data: {"message_id":"7450000000000000004","text":"<b>\"Hi\"</b> \u4f60"}

id: 3
event: delta
data: {"message_id":"7450000000000000004","text":"\tthere"}

id: 4
event: follow_up
data: {"text":"More?"}

id: 5
event: end
data: {"status":"completed","code":"","message":"","usage":{"token_count":3,"output_count":2,"input_count":1}}

`

func TestEachProtocolReadsItsOwnEvents(t *testing.T) {
	for _, tt := range []struct {
		name   string
		p      Protocol
		stream string
		want   summary
	}{
		{"coze completed", Coze, fixture(t, "chat_stream_example.sse"), summary{chatID: "7382159487131697202",
			convID: "7381473525342978089", deltas: []string{"2", "0", "星期三", "。"}, end: Completed}},
		{"coze failed", Coze, fixture(t, "chat_stream_failed.sse"), summary{end: Failed, reason: "conversation.chat.failed 5000"}},
		{"coze error event", Coze, fixture(t, "chat_stream_error.sse"), summary{chatID: "7382159487131697202",
			convID: "7381473525342978089", end: Failed, reason: "error 4013"}},
		{"ours completed", App, ourStream, summary{chatID: "7450000000000000003", convID: "7450000000000000001",
			deltas: []string{`<b>"Hi"</b> 你`, "\tthere"}, end: Completed, reason: "end completed \"\""}},
		{"ours failed", App, "event: end\ndata: {\"status\":\"failed\",\"code\":\"4013\",\"message\":\"The model failed.\"}\n\n",
			summary{end: Failed, reason: `end failed "4013"`}},
		// A client of one protocol finds nothing in the other's stream: a relay
		// that leaked Coze's events would count as a stream without deltas.
		{"coze events read as ours", App, fixture(t, "chat_stream_example.sse"), summary{}},
		{"our events read as coze's", Coze, ourStream, summary{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := read(t, tt.p, tt.stream)
			if got.chatID != tt.want.chatID || got.convID != tt.want.convID || !slices.Equal(got.deltas, tt.want.deltas) || got.end != tt.want.end {
				t.Errorf("got ids %q %q, deltas %q, end %v; want %q %q, %q, %v",
					got.chatID, got.convID, got.deltas, got.end, tt.want.chatID, tt.want.convID, tt.want.deltas, tt.want.end)
			}
			if tt.want.reason != "" && got.reason != tt.want.reason {
				t.Errorf("reason %q, want %q", got.reason, tt.want.reason)
			}
		})
	}
}
