package web

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// duplicateKeyByTokens is the first duplicateKey, on json.Decoder.Token: the
// reference the byte scanner must agree with on every JSON text.
func duplicateKeyByTokens(body []byte) bool {
	type frame struct {
		obj, wantKey bool
		keys         map[string]bool
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				stack = append(stack, &frame{obj: d == '{', wantKey: d == '{', keys: map[string]bool{}})
				continue
			}
			stack = stack[:len(stack)-1]
		} else if k, ok := tok.(string); ok && len(stack) > 0 && stack[len(stack)-1].wantKey {
			top := stack[len(stack)-1]
			fk := strings.ToLower(strings.ToUpper(k))
			if top.keys[fk] {
				return true
			}
			top.keys[fk], top.wantKey = true, false
			continue
		}
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].wantKey = true
		}
	}
}

func TestDuplicateKeyFindsRepeatsAsEncodingJSONMatchesNames(t *testing.T) {
	many := func(n int, last string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			b.WriteString(`"k` + strings.Repeat("x", i) + `":1,`)
		}
		b.WriteString(`"` + last + `":2}`)
		return b.String()
	}
	for _, tc := range []struct {
		name, body string
		want       bool
	}{
		{"distinct keys", `{"bot_id":"1","message":"hi","stream":true}`, false},
		{"repeated key", `{"bot_id":"1","bot_id":"2"}`, true},
		{"differing case", `{"Message":"a","message":"b"}`, true},
		{"escaped spelling", `{"bot_id":"1","bot\u005fid":"2"}`, true},
		{"escaped upper case", `{"a":1,"\u0041":2}`, true},
		{"long s folds to s", "{\"s\":1,\"\u017f\":2}", true},
		{"Kelvin sign folds to k", "{\"k\":1,\"\u212a\":2}", true},
		{"same key in two objects", `{"a":{"x":1},"b":{"x":2}}`, false},
		{"repeat in a nested object", `{"a":{"x":1,"X":2}}`, true},
		{"objects in an array", `{"parts":[{"t":1},{"t":2}]}`, false},
		{"repeat inside an array's object", `{"parts":[{"t":1,"t":2}]}`, true},
		{"string values like keys", `{"a":"a","b":"a","c":["a","a"]}`, false},
		{"key after a nested value", `{"a":[1,{"b":2}],"a":3}`, true},
		{"quote and backslash inside strings", `{"a\"b":"x\\","a\"B":"y"}`, true},
		{"many keys, none repeated", many(40, "last"), false},
		{"many keys, the last repeats the first", many(40, "k"), true},
		{"not JSON", `{"a":1,`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := duplicateKey([]byte(tc.body)); got != tc.want {
				t.Errorf("duplicateKey(%s) = %v, want %v", tc.body, got, tc.want)
			}
			if json.Valid([]byte(tc.body)) {
				if ref := duplicateKeyByTokens([]byte(tc.body)); ref != tc.want {
					t.Errorf("reference says %v for %s, the table %v", ref, tc.body, tc.want)
				}
			}
		})
	}
}

// FuzzDuplicateKey: on every JSON text the byte scanner answers as the
// json.Decoder.Token version did.
func FuzzDuplicateKey(f *testing.F) {
	for _, s := range []string{
		`{"bot_id":"1","message":"hi","stream":true}`,
		`{"a":{"x":1,"X":2}}`,
		`{"parts":[{"t":1},{"t":2}],"p":"\u0041\"\\"}`,
		`{"s":1,"ſ":2,"K":[true,null,-1.5e3]}`,
		`[{"a":1},{"a":1,"b":{"c":"}"}}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got := duplicateKey(body) // must not panic on any input
		if !json.Valid(body) {
			return
		}
		if want := duplicateKeyByTokens(body); got != want {
			t.Fatalf("duplicateKey(%q) = %v, json.Decoder.Token version %v", body, got, want)
		}
	})
}

// BenchmarkDuplicateKey: the check on a chat request body, by the byte scanner and
// by the json.Decoder.Token version it replaced.
func BenchmarkDuplicateKey(b *testing.B) {
	body := []byte(`{"bot_id":"7394000000000000001","message":"bench chunk=25","stream":true,"conversation_id":"7450000000000000001","files":[{"file_id":"f1","name":"a.png"}]}`)
	for _, impl := range []struct {
		name string
		fn   func([]byte) bool
	}{{"bytes", duplicateKey}, {"tokens", duplicateKeyByTokens}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if impl.fn(body) {
					b.Fatal("duplicate reported")
				}
			}
		})
	}
}
