package chat

import (
	"encoding/json"
	"testing"
)

var jsonStringCases = []string{
	"", "plain", "星期三", "😀", "line\nbreak\r\ttab", "\b\f\x00\x01\x1f\x7f",
	`quote " backslash \ slash /`, "<script>&amp;</script>", "\u2028\u2029", "a\xffb\xc3",
	"\xed\xa0\x80", "\ufffd", "\ufeffbom",
}

// textData must be what json.Marshal writes for the same event: the browser and the
// stream contract see no difference.
func TestAppendTextDataMatchesMarshal(t *testing.T) {
	for _, s := range jsonStringCases {
		sameTextData(t, "7382159494123470858", s)
		sameTextData(t, s, "x")
	}
}

func FuzzAppendTextData(f *testing.F) {
	for _, s := range jsonStringCases {
		f.Add("id", s)
	}
	f.Fuzz(sameTextData)
}

func sameTextData(t *testing.T, id, text string) {
	want, err := json.Marshal(struct {
		MessageID string `json:"message_id"`
		Text      string `json:"text"`
	}{id, text})
	if err != nil {
		t.Fatal(err)
	}
	if got := appendTextData(nil, id, text); string(got) != string(want) {
		t.Fatalf("(%q, %q):\n got %s\nwant %s", id, text, got, want)
	}
}

// BenchmarkTextData encodes one delta: appendTextData into a reused buffer against
// json.Marshal of the struct through an interface, as before.
func BenchmarkTextData(b *testing.B) {
	id, text := "7382159494123470858", "星期三, <b>bold</b> \"quoted\"\n"
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var rep reply
		for b.Loop() {
			_ = rep.textData(id, text)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		type data struct {
			MessageID string `json:"message_id"`
			Text      string `json:"text"`
		}
		for b.Loop() {
			var v any = data{id, text}
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
