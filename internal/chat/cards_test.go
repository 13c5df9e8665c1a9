package chat

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/google/go-cmp/cmp"
)

// fixtureDir holds the Coze wire fixtures (see its README.md).
var fixtureDir = filepath.Join("..", "coze", "testdata", "fixtures")

// cardContents returns the content of every card answer in a fixture stream.
func cardContents(t *testing.T, fixture string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtureDir, fixture))
	if err != nil {
		t.Fatal(err)
	}
	er := coze.NewEventReader(bytes.NewReader(raw), 0)
	var out []string
	for ev, err := er.Next(); err == nil; ev, err = er.Next() {
		if ev.Name != coze.EventMessageCompleted {
			continue
		}
		m, err := ev.Message()
		if err != nil {
			t.Fatal(err)
		}
		if m.ContentType == "card" {
			out = append(out, m.Content)
		}
	}
	return out
}

// The fixtures' cards: a display card becomes our safe card, a question node's card a
// question with its options.
func TestTranslateFixtureCards(t *testing.T) {
	card, q := translateCard(cardContents(t, "chat_stream_card.sse")[0])
	want := &Card{Title: "Hangzhou, Saturday", Text: "Light rain, 14–19 °C, wind NE 3.",
		ImageURL: "https://p3-sign.byteimg.example/weather/rain.png",
		Links:    []Link{{Text: "Full forecast", URL: "https://weather.example.com/hangzhou"}},
		Options:  []string{"Tomorrow", "Next week"}}
	if q != nil || !cmp.Equal(card, want) {
		t.Errorf("card = %+v, %+v; want %+v", card, q, want)
	}
	card, q = translateCard(cardContents(t, "chat_stream_question.sse")[0])
	wantQ := &Question{Text: "Which size would you like?", Options: []string{"Small", "Medium", "Large"}}
	if card != nil || !cmp.Equal(q, wantQ) {
		t.Errorf("question = %+v, %+v; want %+v", q, card, wantQ)
	}
}

// dslCard wraps components into Coze's card envelope.
func dslCard(t *testing.T, elements map[string]any) string {
	t.Helper()
	children := make([]string, 0, len(elements))
	for id := range elements {
		children = append(children, id)
	}
	slices.Sort(children) // the walk follows the children's order

	elements["root"] = map[string]any{"type": "@flowpd/cici-components/PageContainer", "props": map[string]any{}, "children": children}
	dsl, _ := json.Marshal(map[string]any{"elements": elements, "rootID": "root"})
	b, _ := json.Marshal(map[string]any{"card_type": 3, "content_type": 50, "response_type": "card", "data": string(dsl), "x_properties": map[string]string{}})
	return string(b)
}

func text(s string) map[string]any {
	return map[string]any{"type": "@flowpd/cici-components/Text", "props": map[string]any{"content": s}}
}
func image(src string) map[string]any {
	return map[string]any{"type": "@flowpd/cici-components/Image", "props": map[string]any{"src": src}}
}
func button(label, action, url string) map[string]any {
	return map[string]any{"type": "@flowpd/cici-components/Button", "props": map[string]any{"content": label, "actionType": action, "url": url}}
}

// Card translation rules: only plain strings and https URLs pass; anything we cannot read
// is {"unknown":true}.
func TestTranslateCardRules(t *testing.T) {
	unknown := &Card{Unknown: true}
	tests := []struct {
		name    string
		content string
		want    *Card
		wantQ   *Question
	}{
		{"not JSON", `<b>card</b>`, unknown, nil},
		{"empty object", `{}`, unknown, nil},
		{"template only (docs example)", `{"card_type":3,"template_url":"https://x","response_type":"card"}`, unknown, nil},
		{"data not a DSL", `{"data":"{\"a\":1}"}`, unknown, nil},
		{"data not a string", `{"data":{"elements":{}}}`, unknown, nil},
		{"one text is the text", dslCard(t, map[string]any{"1": text("Only line")}), &Card{Text: "Only line"}, nil},
		{"markup stays text", dslCard(t, map[string]any{"1": text("<img src=x onerror=alert(1)>"), "2": text("**bold** <script>")}),
			&Card{Title: "<img src=x onerror=alert(1)>", Text: "**bold** <script>"}, nil},
		{"control characters", dslCard(t, map[string]any{"1": text("a\x00b\x1b[31mc\u2028d")}), &Card{Text: "ab [31mc d"}, nil},
		{"unsafe urls dropped", dslCard(t, map[string]any{
			"1": image("javascript:alert(1)"), "2": image("http://plain.example/a.png"), "3": image("data:image/png;base64,AAAA"),
			"4": button("js", "enableUrl", "javascript:alert(1)"), "5": button("rel", "enableUrl", "/relative"),
			"6": button("user", "enableUrl", "https://bank.example@evil.example/"), "7": button("proto", "enableUrl", "//evil.example/"),
			"8": button("ok", "enableUrl", "HTTPS://Good.example/p?q=1"), "9": image("https://img.example/a.png"),
		}), &Card{ImageURL: "https://img.example/a.png", Links: []Link{{Text: "ok", URL: "https://Good.example/p?q=1"}}}, nil},
		{"button without action ignored", dslCard(t, map[string]any{"1": button("x", "", ""), "2": button("Yes", "enableMessage", "")}),
			&Card{Options: []string{"Yes"}}, nil},
		{"expression props not evaluated", dslCard(t, map[string]any{"1": map[string]any{"type": "@flowpd/cici-components/Text",
			"props": map[string]any{"content": map[string]any{"type": "expression", "value": "{{secret}}"}}}}), unknown, nil},
		{"unknown components only", dslCard(t, map[string]any{"1": map[string]any{"type": "@flowpd/cici-components/Chart", "props": map[string]any{"content": "x"}}}), unknown, nil},
		{"question card", `{"x_properties":{"workflow_card_info":"{\"card_type\":\"QUESTION\",\"question_card_data\":{\"Title\":\"Pick\",\"Options\":[{\"name\":\"A\"},{\"name\":\" \"},{\"name\":\"B\"}]}}"}}`,
			nil, &Question{Text: "Pick", Options: []string{"A", "B"}}},
		{"input card", `{"x_properties":{"workflow_card_info":"{\"card_type\":\"INPUT\",\"input_card_data\":[{\"type\":\"text\",\"name\":\"city\"}]}"}}`, unknown, nil},
		{"studio option question", `{"type":"question","content_type":"option","content":{"question":"Size?","options":[{"name":"S"},{"name":"L"}]},"id":"1_0"}`,
			nil, &Question{Text: "Size?", Options: []string{"S", "L"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card, q := translateCard(tt.content)
			if !cmp.Equal(card, tt.want) || !cmp.Equal(q, tt.wantQ) {
				t.Errorf("translateCard = %+v, %+v; want %+v, %+v", card, q, tt.want, tt.wantQ)
			}
		})
	}
}

// A card DSL with cycles, deep nesting or huge sizes ends quickly with a bounded card.
func TestTranslateCardBounded(t *testing.T) {
	els := map[string]any{}
	for i := range 1000 {
		id := "n" + strconv.Itoa(i)
		els[id] = map[string]any{"type": "@flowpd/cici-components/Button", "props": map[string]any{"content": "opt", "actionType": "enableMessage"}, "children": []string{"root"}}
	}
	card, _ := translateCard(dslCard(t, els))
	if card == nil || len(card.Options) != maxCardItems {
		t.Errorf("card = %+v, want %d options", card, maxCardItems)
	}
	long := dslCard(t, map[string]any{"1": text(strings.Repeat("字", maxCardTextRunes+10))})
	card, _ = translateCard(long)
	if n := len([]rune(card.Text)); n != maxCardTextRunes {
		t.Errorf("text runes = %d, want %d", n, maxCardTextRunes)
	}
	if card, _ := translateCard(`{"data":"` + strings.Repeat("x", maxCardSourceBytes) + `"}`); !card.Unknown {
		t.Errorf("huge card = %+v, want unknown", card)
	}
}

// Fuzz: any content gives either a question or a card whose URLs are https and whose
// strings hold no control characters but newlines and tabs.
func FuzzTranslateCard(f *testing.F) {
	for _, fx := range []string{"chat_stream_card.sse", "chat_stream_question.sse"} {
		raw, _ := os.ReadFile(filepath.Join(fixtureDir, fx))
		er := coze.NewEventReader(bytes.NewReader(raw), 0)
		for ev, err := er.Next(); err == nil; ev, err = er.Next() {
			if m, err := ev.Message(); err == nil && m.ContentType == "card" {
				f.Add(m.Content)
			}
		}
	}
	f.Add(`{"data":"{\"elements\":{\"root\":{\"type\":\"Image\",\"props\":{\"src\":\"https://a/b\"}}}}"}`)
	f.Fuzz(func(t *testing.T, content string) {
		card, q := translateCard(content)
		if (card == nil) == (q == nil) {
			t.Fatalf("card %v, question %v: want exactly one", card, q)
		}
		var strs []string
		if q != nil {
			strs = append(strs, q.Text)
			strs = append(strs, q.Options...)
		} else {
			strs = append(strs, card.Title, card.Text)
			strs = append(strs, card.Options...)
			urls := []string{}
			if card.ImageURL != "" {
				urls = append(urls, card.ImageURL)
			}
			for _, l := range card.Links {
				strs = append(strs, l.Text)
				urls = append(urls, l.URL)
			}
			for _, u := range urls {
				if !strings.HasPrefix(u, "https://") || safeURL(u) != u {
					t.Errorf("unsafe url %q", u)
				}
			}
		}
		for _, s := range strs {
			for _, r := range s {
				if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
					t.Errorf("control character %U in %q", r, s)
				}
			}
		}
	})
}
