package coze

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixtureEventData is the data of every event in the fixture streams.
func fixtureEventData(tb testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.sse"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no fixture streams: %v", err)
	}
	var out [][]byte
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		r := NewEventReader(bytes.NewReader(raw), 0)
		for {
			ev, err := r.Next()
			if err != nil {
				break
			}
			out = append(out, bytes.Clone(ev.Data))
		}
	}
	return out
}

// sameMessageText fails t unless MessageText and its encoding/json reference agree on data,
// error text included, and the scanner claims only what encoding/json decodes alike.
func sameMessageText(t *testing.T, data []byte) {
	t.Helper()
	ev := Event{Name: EventMessageDelta, Data: data}
	want, wantErr := ev.messageTextJSON()
	got, gotErr := ev.MessageText()
	if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
		t.Fatalf("%q: err %v, encoding/json %v", data, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %+v\nwant %+v", data, got, want)
	}
	if m, ok := scanMessageText(data); ok && (wantErr != nil || !reflect.DeepEqual(m, want)) {
		t.Fatalf("%q: scanner claimed %+v, encoding/json %+v, %v", data, m, want, wantErr)
	}
}

// FuzzMessageText checks that the hand-written decoder of message events gives exactly what
// encoding/json gives, errors included. Seeds: every event of the fixture streams.
func FuzzMessageText(f *testing.F) {
	for _, d := range fixtureEventData(f) {
		f.Add(d)
	}
	for _, c := range messageTextCases {
		f.Add([]byte(c.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameMessageText(t, data)
	})
}

var messageTextCases = []struct {
	name    string
	data    string
	want    Message
	wantErr bool
	scanned bool // read by the scanner, not the fallback
}{
	{name: "delta", data: `{"id":"7382","conversation_id":"1","role":"assistant","type":"answer","content":"星期三","content_type":"text","chat_id":"9"}`,
		want: Message{ID: "7382", Role: "assistant", Type: "answer", Content: "星期三", ContentType: "text"}, scanned: true},
	{name: "reasoning", data: `{"id":"m","role":"assistant","type":"answer","content":"","reasoning_content":"think\n"}`,
		want: Message{ID: "m", Role: "assistant", Type: "answer", ReasoningContent: "think\n"}, scanned: true},
	{name: "escapes", data: `{"content":"a\"b\\c\/d\be\ff\ng\rh\ti"}`, want: Message{Content: "a\"b\\c/d\be\ff\ng\rh\ti"}, scanned: true},
	{name: "unicode escapes", data: `{"content":"\u00e9\u4e2d\u0000\u2028<>&"}`, want: Message{Content: "é中\x00\u2028<>&"}, scanned: true},
	{name: "surrogate pair", data: `{"content":"\ud83d\ude00!"}`, want: Message{Content: "😀!"}, scanned: true},
	{name: "lone high surrogate", data: `{"content":"\ud83dx"}`, want: Message{Content: "\ufffdx"}, scanned: true},
	{name: "high surrogate then escape", data: `{"content":"\ud83d\u0041"}`, want: Message{Content: "\ufffdA"}, scanned: true},
	{name: "lone low surrogate", data: `{"content":"\ude00"}`, want: Message{Content: "\ufffd"}, scanned: true},
	{name: "raw multibyte", data: `{"content":"😀 é"}`, want: Message{Content: "😀 é"}, scanned: true},
	{name: "invalid utf-8 replaced", data: "{\"content\":\"a\xffb\"}", want: Message{Content: "a\ufffdb"}},
	{name: "null string field", data: `{"role":null,"content":null}`, want: Message{}, scanned: true},
	{name: "null keeps earlier value", data: `{"content":"a","content":null}`, want: Message{Content: "a"}, scanned: true},
	{name: "null id clears", data: `{"id":"a","id":null}`, want: Message{}, scanned: true},
	{name: "number id", data: `{"id":7382159494123470858}`, want: Message{ID: "7382159494123470858"}, scanned: true},
	{name: "fraction id", data: `{"id":-1.5e+3}`, want: Message{ID: "-1.5e+3"}, scanned: true},
	{name: "bool id", data: `{"id":true}`, want: Message{ID: "true"}, scanned: true},
	{name: "missing fields", data: `{}`, want: Message{}, scanned: true},
	{name: "top-level null", data: `null`, want: Message{}},
	{name: "duplicate keys take the last", data: `{"content":"a","content":"b","id":"1","id":2}`, want: Message{Content: "b", ID: "2"}, scanned: true},
	{name: "whitespace", data: " \t\r\n{ \"content\" : \"a\" , \"x\" : [ 1 , { } ] }\n", want: Message{Content: "a"}, scanned: true},
	{name: "nested skipped", data: `{"meta_data":{"a":[1,2,{"b":"\u00e9\"}"}],"c":null},"usage":{"n":0},"content":"x"}`,
		want: Message{Content: "x"}, scanned: true},
	{name: "case-insensitive key", data: `{"Content":"a"}`, want: Message{Content: "a"}},
	{name: "escaped key", data: `{"\u0063ontent":"a"}`, want: Message{Content: "a"}},
	{name: "folded key", data: `{"reaſoning_content":"a"}`, want: Message{ReasoningContent: "a"}},
	{name: "number content", data: `{"content":1}`, wantErr: true},
	{name: "object id", data: `{"id":{}}`, wantErr: true},
	{name: "truncated", data: `{"content":"a`, wantErr: true},
	{name: "trailing comma", data: `{"content":"a",}`, wantErr: true},
	{name: "trailing data", data: `{"content":"a"} x`, wantErr: true},
	{name: "bad escape", data: `{"content":"\x"}`, wantErr: true},
	{name: "bad escape in skipped", data: `{"other":"\'"}`, wantErr: true},
	{name: "control character", data: "{\"content\":\"a\nb\"}", wantErr: true},
	{name: "bad number", data: `{"id":01}`, wantErr: true},
	{name: "array", data: `[]`, wantErr: true},
	{name: "empty", data: ``, wantErr: true},
}

func TestMessageTextMatchesEncodingJSON(t *testing.T) {
	for _, c := range messageTextCases {
		t.Run(c.name, func(t *testing.T) {
			sameMessageText(t, []byte(c.data))
			got, err := Event{Name: EventMessageDelta, Data: []byte(c.data)}.MessageText()
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			if _, ok := scanMessageText([]byte(c.data)); ok != c.scanned {
				t.Fatalf("scanned %v, want %v", ok, c.scanned)
			}
		})
	}
}

// TestMessageTextFixtures: every fixture event decodes alike, and every message event
// of them is read by the scanner.
func TestMessageTextFixtures(t *testing.T) {
	for _, d := range fixtureEventData(t) {
		sameMessageText(t, d)
	}
	for _, name := range []string{"chat_stream_example.sse", "chat_stream_reasoning.sse", "chat_stream_card.sse"} {
		raw, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		r := NewEventReader(bytes.NewReader(raw), 0)
		for {
			ev, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(ev.Name, "conversation.message.") {
				if _, ok := scanMessageText(ev.Data); !ok {
					t.Errorf("%s: %s not read by the scanner: %s", name, ev.Name, ev.Data)
				}
			}
		}
	}
}

// BenchmarkMessageText decodes one delta of the captured stream: the scanner against
// encoding/json.
func BenchmarkMessageText(b *testing.B) {
	data := []byte(`{"id":"7382159494123470858","conversation_id":"7381473525342978089","bot_id":"7379462189365198898","role":"assistant","type":"answer","content":"星期三","content_type":"text","chat_id":"7382159487131697202","section_id":"7381473525342978089","created_at":1718792949}`)
	ev := Event{Name: EventMessageDelta, Data: data}
	for _, c := range []struct {
		name string
		f    func() (Message, error)
	}{{"scanner", ev.MessageText}, {"encoding-json", ev.messageTextJSON}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := c.f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
