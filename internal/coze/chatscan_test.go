package coze

import (
	"encoding/json"
	"reflect"
	"testing"
)

// looseChat is the reference: Chat's loose decoding alone, without the scanner.
func looseChat(data []byte) (Chat, error) {
	var c Chat
	err := json.Unmarshal(data, &c)
	return c, err
}

// sameChat fails t when scanChat claims data and gives other than the loose decoder.
func sameChat(t *testing.T, data []byte) (scanned bool) {
	t.Helper()
	got, ok := scanChat(data)
	if !ok {
		return false
	}
	want, err := looseChat(data)
	if err != nil {
		t.Fatalf("%q: scanner claimed %+v, the loose decoder fails: %v", data, got, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n scanner %+v\n   loose %+v", data, got, want)
	}
	return true
}

var chatScanCases = []struct {
	name    string
	data    string
	scanned bool // read by the scanner, not the loose decoder
}{
	{"created as Coze sends it", `{"id":"7433357037570146301","conversation_id":"7433357037570146302","bot_id":"7433357037570146303","created_at":1730713302,"last_error":{"code":0,"msg":""},"status":"created","usage":{"token_count":0,"output_count":0,"input_count":0},"required_action":{"type":"","submit_tool_outputs":{"tool_calls":[]}},"section_id":"7433357037570146302"}`, true},
	{"completed with usage", `{"id":"1","conversation_id":"2","status":"completed","completed_at":1730713309,"usage":{"token_count":115,"output_count":24,"input_count":91}}`, true},
	{"usage without total", `{"usage":{"output_tokens":3,"input_tokens":4}}`, true},
	{"usage counts over tokens", `{"usage":{"output_count":1,"output_tokens":3}}`, true},
	{"failed with last_error", `{"id":"1","status":"failed","last_error":{"code":4011,"msg":"余额不足"}}`, true},
	{"number ids", `{"id":7433357037570146301,"conversation_id":-2.5e3}`, true},
	{"nulls", `{"id":null,"created_at":null,"last_error":null,"usage":null,"required_action":null,"meta_data":null}`, true},
	{"empty meta_data", `{"meta_data":{}}`, true},
	{"duplicate keys take the last", `{"id":"a","id":"b","usage":{"token_count":1},"usage":null}`, true},
	{"unknown fields skipped", ` {"x":[1,{"y":null}],"id":"1"} `, true},
	{"meta_data with values", `{"meta_data":{"k":"v"}}`, false},
	{"string time", `{"created_at":"1730713302"}`, false},
	{"fraction time", `{"created_at":1.5}`, false},
	{"time over int64", `{"created_at":99999999999999999999}`, false},
	{"null count", `{"usage":{"token_count":null}}`, false},
	{"upper-case key", `{"ID":"1"}`, false},
	{"escaped key", `{"i\u0064":"1"}`, false},
	{"trailing garbage", `{"id":"1"}x`, false},
	{"top-level null", `null`, false},
	{"not json", `{"id":`, false},
}

func TestScanChatReadsAsTheLooseDecoder(t *testing.T) {
	for _, c := range chatScanCases {
		t.Run(c.name, func(t *testing.T) {
			if got := sameChat(t, []byte(c.data)); got != c.scanned {
				t.Errorf("scanned = %v, want %v", got, c.scanned)
			}
			// Whichever way it went, Event.Chat agrees with the loose decoder.
			ev := Event{Name: EventChatCreated, Data: []byte(c.data)}
			got, gotErr := ev.Chat()
			want, wantErr := looseChat([]byte(c.data))
			if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) && wantErr == nil {
				t.Errorf("Chat() = %+v, %v; loose decoder %+v, %v", got, gotErr, want, wantErr)
			}
		})
	}
}

// FuzzScanChat checks that the chat event scanner claims only what the loose decoder
// decodes alike. Seeds: every event of the fixture streams and the cases above.
func FuzzScanChat(f *testing.F) {
	for _, d := range fixtureEventData(f) {
		f.Add(d)
	}
	for _, c := range chatScanCases {
		f.Add([]byte(c.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameChat(t, data)
	})
}

// BenchmarkChatEvent decodes a conversation.chat.created event as Coze sends it:
// scanner (Chat) against the loose decoder alone.
func BenchmarkChatEvent(b *testing.B) {
	data := []byte(chatScanCases[0].data)
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (Event{Name: EventChatCreated, Data: data}).Chat(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("loose", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := looseChat(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
