package coze

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// ev is a comparable event for tests.
type ev struct{ ID, Name, Data string }

func (e ev) String() string { return fmt.Sprintf("{%q %q %q}", e.ID, e.Name, e.Data) }

// collect reads all events; it stops at the first error (returned) or after limit events.
func collect(tb testing.TB, r io.Reader, maxLine, limit int) ([]ev, []bool, error) {
	tb.Helper()
	er := NewEventReader(r, maxLine)
	var out []ev
	var nilData []bool
	for range limit {
		e, err := er.Next()
		if err != nil {
			if _, err2 := er.Next(); !sameErr(err, err2) {
				tb.Errorf("error not sticky: %v then %v", err, err2)
			}
			return out, nilData, err
		}
		out = append(out, ev{e.ID, e.Name, string(e.Data)})
		nilData = append(nilData, e.Data == nil)
	}
	tb.Fatalf("more than %d events", limit)
	return nil, nil, nil
}

func sameErr(a, b error) bool {
	return a == b || (a != nil && b != nil && a.Error() == b.Error())
}

// readers returns the chunkings every case is checked under.
func readers(s string) map[string]func() io.Reader {
	return map[string]func() io.Reader{
		"whole":   func() io.Reader { return strings.NewReader(s) },
		"onebyte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half":    func() io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
		"dataerr": func() io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
	}
}

func TestEventReader(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		max        int
		wantEvents []ev
		wantErr    error
	}{
		{"empty", "", 0, nil, io.EOF},
		{"blank lines only", "\n\n\r\n\r", 0, nil, io.EOF},
		{"chat framing no space", "event:conversation.chat.created\ndata:{\"id\":\"1\"}\n\nevent:done\ndata:\"[DONE]\"\n\n", 0,
			[]ev{{"", EventChatCreated, `{"id":"1"}`}, {"", EventDone, `"[DONE]"`}}, io.EOF},
		{"space after colon", "event: conversation.message.delta\ndata: {\"content\":\"a\"}\n\n", 0,
			[]ev{{"", EventMessageDelta, `{"content":"a"}`}}, io.EOF},
		{"only one space stripped", "data:  x \n\n", 0, []ev{{"", "", " x "}}, io.EOF},
		{"CRLF", "event:x\r\ndata:{}\r\n\r\nevent:y\r\ndata:[1]\r\n\r\n", 0,
			[]ev{{"", "x", "{}"}, {"", "y", "[1]"}}, io.EOF},
		{"CR only", "event:x\rdata:{}\r\revent:y\rdata:[1]\r\r", 0,
			[]ev{{"", "x", "{}"}, {"", "y", "[1]"}}, io.EOF},
		{"mixed endings", "event:x\r\ndata:1\n\revent:y\rdata:2\r\n\n", 0,
			[]ev{{"", "x", "1"}, {"", "y", "2"}}, io.EOF},
		{"workflow id lines", "id: 0\nevent: Message\ndata: {\"content\":\"msg\"}\n\nid: 1\nevent: Done\ndata: {}\n\n", 0,
			[]ev{{"0", WorkflowMessage, `{"content":"msg"}`}, {"1", WorkflowDone, `{}`}}, io.EOF},
		{"id without space", "id:7\nevent:Message\ndata:{}\n\n", 0, []ev{{"7", "Message", "{}"}}, io.EOF},
		{"multi-line data", "data:{\"a\":\ndata:1}\n\n", 0, []ev{{"", "", "{\"a\":\n1}"}}, io.EOF},
		{"comments ignored", ": ping\n\n:\nevent:x\n: mid\ndata:1\n\n: tail\n", 0, []ev{{"", "x", "1"}}, io.EOF},
		{"retry and unknown fields ignored", "retry: 3000\nfoo: bar\nevent:x\ndata:1\n\n", 0, []ev{{"", "x", "1"}}, io.EOF},
		{"unknown event name passed through", "event:conversation.future.thing\ndata:{}\n\n", 0,
			[]ev{{"", "conversation.future.thing", "{}"}}, io.EOF},
		{"leading BOM stripped", "\xEF\xBB\xBFevent:x\ndata:1\n\n", 0, []ev{{"", "x", "1"}}, io.EOF},
		{"BOM only at start", "event:x\ndata:\xEF\xBB\xBF\n\n", 0, []ev{{"", "x", "\xEF\xBB\xBF"}}, io.EOF},
		{"exact bytes kept", "data:{\"c\":\"星期三\\n\",\"x\":1}  \n\n", 0, []ev{{"", "", "{\"c\":\"星期三\\n\",\"x\":1}  "}}, io.EOF},
		{"field without colon", "event:x\ndata\n\n", 0, []ev{{"", "x", ""}}, io.EOF},
		{"event without data dispatched", "id: 3\nevent: PING\n\n", 0, []ev{{"3", "PING", ""}}, io.EOF},
		{"id only block dropped", "id: 3\n\nevent:x\ndata:1\n\n", 0, []ev{{"", "x", "1"}}, io.EOF},
		{"event name resets per event", "event:x\ndata:1\n\ndata:2\n\n", 0, []ev{{"", "x", "1"}, {"", "", "2"}}, io.EOF},
		{"final event without blank line", "event:x\ndata:1\n\nevent:done\ndata:\"[DONE]\"\n", 0,
			[]ev{{"", "x", "1"}, {"", "done", `"[DONE]"`}}, io.EOF},
		{"final event CR terminated", "event:done\ndata:{}\r", 0, []ev{{"", "done", "{}"}}, io.EOF},
		{"final data not JSON", "event:done\ndata:[DONE\n", 0, nil, ErrStreamCut},
		{"cut mid data line", "event:x\ndata:1\n\nevent:conversation.message.delta\ndata:{\"id\":\"73", 0,
			[]ev{{"", "x", "1"}}, ErrStreamCut},
		// coze-protocol E2: the recorded server streams (coze-dev/coze-py tests/testdata/*.txt)
		// end right after the last data value.
		{"final event without newline (chat_text_stream_resp.txt)", "event:x\ndata:1\n\nevent:done\ndata:\"[DONE]\"", 0,
			[]ev{{"", "x", "1"}, {"", "done", `"[DONE]"`}}, io.EOF},
		{"final workflow event without newline (workflow_run_stream_resp.txt)", "id: 5\nevent: Message\ndata: {}\n\nid: 6\nevent: Done\ndata: {}", 0,
			[]ev{{"5", WorkflowMessage, "{}"}, {"6", WorkflowDone, "{}"}}, io.EOF},
		{"only event without newline (chat_error_resp.txt)", "event:error\ndata:{}", 0, []ev{{"", "error", "{}"}}, io.EOF},
		{"final multi-line data without newline", "event:x\ndata:{\"a\":\ndata:1}", 0, []ev{{"", "x", "{\"a\":\n1}"}}, io.EOF},
		{"final event without newline after CRLF lines", "event:done\r\ndata:{}", 0, []ev{{"", "done", "{}"}}, io.EOF},
		{"cut inside the last JSON value", "event:x\ndata:{\"id\":1", 0, nil, ErrStreamCut},
		{"cut inside the last JSON string", "event:done\ndata:\"[DONE", 0, nil, ErrStreamCut},
		{"cut in event line after data", "event:x\ndata:{}\nevent:y", 0, nil, ErrStreamCut},
		{"cut in the data field name", "event:x\nda", 0, nil, ErrStreamCut},
		{"final unterminated data over limit", "data:" + strings.Repeat("a", 15), 16, nil, ErrEventTooLarge},
		{"cut after event line", "event:x\ndata:1\n\nevent:y\n", 0, []ev{{"", "x", "1"}}, ErrStreamCut},
		{"cut in comment", "event:x\ndata:1\n\n: pi", 0, []ev{{"", "x", "1"}}, ErrStreamCut},
		{"bare JSON body", `{"code":4100,"msg":"authentication is invalid"}`, 0, nil, ErrStreamCut},
		{"line at limit", "data:" + strings.Repeat("a", 11) + "\n\n", 16, []ev{{"", "", strings.Repeat("a", 11)}}, io.EOF},
		{"line over limit", "data:" + strings.Repeat("a", 12) + "\n\n", 16, nil, ErrEventTooLarge},
		{"unterminated huge line", strings.Repeat("a", 100), 16, nil, ErrEventTooLarge},
		{"data over limit across lines", "data:aaaaaaaa\ndata:bbbbbbbb\n\n", 16, nil, ErrEventTooLarge},
	}
	for _, tt := range tests {
		for rname, mk := range readers(tt.in) {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				got, _, err := collect(t, mk(), tt.max, 100)
				if diff := cmp.Diff(tt.wantEvents, got); diff != "" {
					t.Errorf("events mismatch (-want +got):\n%s", diff)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
			})
		}
	}
}

func TestEventReaderNilDataOnlyWithoutDataLine(t *testing.T) {
	_, nilData, _ := collect(t, strings.NewReader("event:PING\n\nevent:x\ndata:\n\n"), 0, 10)
	if want := []bool{true, false}; !cmp.Equal(nilData, want) {
		t.Errorf("nil data = %v, want %v", nilData, want)
	}
}

// endless yields the same byte forever.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

func TestEventReaderBoundedMemory(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
	}{
		{"no newline ever", endless('a')},
		{"data lines forever", io.MultiReader(strings.NewReader("data:"), endless('x'))},
		{"many data lines", strings.NewReader(strings.Repeat("data:0123456789\n", 100000))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const maxLine = 1000
			er := NewEventReader(tt.r, maxLine)
			_, err := er.Next()
			if !errors.Is(err, ErrEventTooLarge) {
				t.Fatalf("err = %v, want ErrEventTooLarge", err)
			}
			if len(er.buf) > maxLine+1 || cap(er.data) > 2*maxLine+64 {
				t.Errorf("buffer grew to %d / data %d, limit %d", len(er.buf), cap(er.data), maxLine)
			}
		})
	}
}

func TestEventReaderReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	tests := []struct {
		name    string
		err     error
		wantIs  []error
		wantNot error
	}{
		{"unexpected EOF is a cut", io.ErrUnexpectedEOF, []error{ErrStreamCut, io.ErrUnexpectedEOF}, nil},
		{"network error wrapped", boom, []error{boom}, ErrStreamCut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := io.MultiReader(strings.NewReader("event:x\ndata:1\n\nevent:y\nda"), iotest.ErrReader(tt.err))
			got, _, err := collect(t, r, 0, 10)
			if want := []ev{{"", "x", "1"}}; !cmp.Equal(got, want) {
				t.Errorf("events = %v, want %v", got, want)
			}
			for _, w := range tt.wantIs {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want it to match %v", err, w)
				}
			}
			if tt.wantNot != nil && errors.Is(err, tt.wantNot) {
				t.Errorf("err = %v, must not match %v", err, tt.wantNot)
			}
		})
	}
}

func TestEventReaderNoProgress(t *testing.T) {
	_, err := NewEventReader(zeroReader{}, 0).Next()
	if !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("err = %v, want io.ErrNoProgress", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestPeekBareJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"bare object", `{"code":4100,"msg":"x"}`, true},
		{"after blank lines and BOM", "\xEF\xBB\xBF\r\n  {\"code\":1}", true},
		{"event stream", "event:x\ndata:{}\n\n", false},
		{"workflow stream", "id: 0\n", false},
		{"empty", "", false},
		{"short", "{", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			er := NewEventReader(iotest.OneByteReader(strings.NewReader(tt.in)), 0)
			got, _ := er.peekBareJSON()
			if got != tt.want {
				t.Errorf("peekBareJSON = %v, want %v", got, tt.want)
			}
			rest, _ := io.ReadAll(er.rest())
			if !tt.want {
				return
			}
			if !strings.HasPrefix(strings.TrimSpace(string(rest)), "{") {
				t.Errorf("rest = %q, want the JSON body", rest)
			}
		})
	}
}

// chunkReader hands out one chunk per Read and fails the test on a Read past the
// last one: NextBuffered must never read.
type chunkReader struct {
	t      *testing.T
	chunks []string
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		c.t.Fatal("Read past the chunks given")
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	if c.chunks[0] == "" {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

func TestNextBufferedTakesOnlyCompleteEventsWithoutReading(t *testing.T) {
	cr := &chunkReader{t: t, chunks: []string{
		"event: a\ndata: {}\n\n: ping\n\nevent: b\r\ndata: {\"x\"",
		":1}\r\n\r\n",
	}}
	er := NewEventReader(cr, 0)
	first, err := er.Next() // reads the first chunk
	if err != nil || first.Name != "a" {
		t.Fatalf("Next = %q, %v; want a", first.Name, err)
	}
	if ev, ok, err := er.NextBuffered(); ok || err != nil {
		t.Fatalf("NextBuffered = %q, %v, %v; want nothing: b is not complete", ev.Name, ok, err)
	}
	if len(cr.chunks) != 1 {
		t.Fatalf("NextBuffered read: %d chunks left, want 1", len(cr.chunks))
	}
	second, err := er.Next()
	if err != nil || second.Name != "b" || string(second.Data) != `{"x":1}` {
		t.Fatalf("Next = %q %q, %v; want b {\"x\":1}", second.Name, second.Data, err)
	}
}
