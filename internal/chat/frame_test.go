package chat

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/coze"
)

// frame renders one event the way ServeSSE does.
func frame(id int64, name string, data []byte) []byte {
	rec := httptest.NewRecorder()
	sw := &sseWriter{w: rec, rc: http.NewResponseController(rec)}
	sw.send(id, name, data)
	return rec.Body.Bytes()
}

// Catalog F.45 (framing injection): whatever the name and data hold, the browser parses
// exactly one event with our id, the name on one line and the data unchanged (line
// breaks normalised to "\n", as SSE defines them).
func FuzzCase45_Framing(f *testing.F) {
	f.Add("conversation.message.delta", []byte(`{"content":"hi"}`))
	f.Add("x\nid: 99", []byte("a\nid: 7\n\nevent: evil\ndata: x"))
	f.Add("e", []byte("a\r\nretry: 1\rb\n"))
	f.Add("", []byte(""))
	f.Add(" spaced", []byte(" leading space"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if strings.ContainsAny(name, "\x00") || bytes.IndexByte(data, 0) >= 0 {
			// NUL is fine on the wire but not in our expectations' simple form.
			return
		}
		out := frame(42, name, data)
		r := coze.NewEventReader(bytes.NewReader(out), 1<<20)
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("parse %q: %v", out, err)
		}
		if ev.ID != "42" {
			t.Errorf("id = %q, want 42 (frame %q)", ev.ID, out)
		}
		if want := sanitizeName(name); ev.Name != want {
			t.Errorf("name = %q, want %q", ev.Name, want)
		}
		norm := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(data))
		if string(ev.Data) != norm {
			t.Errorf("data = %q, want %q", ev.Data, norm)
		}
		if _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("second Next = %v, want io.EOF (exactly one event)", err)
		}
	})
}

// Catalog H.58: the Last-Event-ID parser never panics and accepts only plain digits.
func FuzzCase58_ParseLastEventID(f *testing.F) {
	for _, s := range []string{"", "0", "12", "-1", "abc", "99999999999999999999", "1e3", " 1", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Last-Event-ID", v)
		n, err := ParseLastEventID(r)
		if err != nil {
			if !errors.Is(err, ErrBadEventID) {
				t.Errorf("err = %v, want ErrBadEventID", err)
			}
			return
		}
		if n < 0 || (v != "" && strings.TrimLeft(v, "0123456789") != "") {
			t.Errorf("ParseLastEventID(%q) = %d, want an error", v, n)
		}
	})
}

func TestTitle(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"short", "hello", "hello"},
		{"whitespace collapsed", "  a\n\tb  ", "a b"},
		{"cut on runes", strings.Repeat("字", 61), strings.Repeat("字", 60)},
		{"emoji", strings.Repeat("😀", 70), strings.Repeat("😀", 60)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := title(tt.in)
			if got != tt.want || !utf8.ValidString(got) {
				t.Errorf("title = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCleanText(t *testing.T) {
	if got := cleanText("a\x00b\xffc"); got != "ab\uFFFDc" {
		t.Errorf("cleanText = %q", got)
	}
}

// countingWriter counts the writes that reach the connection.
type countingWriter struct {
	*httptest.ResponseRecorder
	writes int
}

func (w *countingWriter) Write(b []byte) (int, error) {
	w.writes++
	return w.ResponseRecorder.Write(b)
}

// A backlog of events goes out as the same bytes as one frame per event, in one write
// per maxBatch bytes, and the writer keeps no buffer grown past that.
func TestSendEventsBatchesTheSameBytes(t *testing.T) {
	var evs []event
	var frames [][]byte
	for i := range 400 {
		data := []byte(`{"message_id":"m","text":"` + strings.Repeat("字", i%60) + `\n"}`)
		name := EventDelta
		if i%7 == 0 {
			name, data = EventReasoning, []byte("two\nlines")
		}
		evs = append(evs, event{id: int64(i + 1), name: name, data: data})
		frames = append(frames, frame(int64(i+1), name, data))
	}
	for _, n := range []int{1, 3, len(evs)} {
		w := &countingWriter{ResponseRecorder: httptest.NewRecorder()}
		sw := &sseWriter{w: w, rc: http.NewResponseController(w)}
		if err := sw.sendEvents(evs[:n]); err != nil {
			t.Fatal(err)
		}
		want := bytes.Join(frames[:n], nil)
		if !bytes.Equal(w.Body.Bytes(), want) {
			t.Fatalf("%d events: bytes differ from one frame per event", n)
		}
		size := len(want)
		if maxWrites := size/maxBatch + 1; w.writes > maxWrites || (n > 1 && w.writes >= n) {
			t.Errorf("%d events (%d bytes): %d writes, want at most %d", n, size, w.writes, maxWrites)
		}
		if cap(sw.buf) > maxBatch {
			t.Errorf("%d events: writer keeps a %d-byte buffer", n, cap(sw.buf))
		}
	}
}
