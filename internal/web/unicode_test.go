package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// Catalog case 56: unicode round trips byte-exact; invalid UTF-8 is refused.

func TestCase56_Unicode(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	texts := []struct{ name, v, search string }{
		{"emoji ZWJ", "family 👩‍👩‍👧‍👦 and flag 🏳️‍🌈 ok", "👩‍👩‍👧‍👦"},
		{"CJK", "你好，世界。日本語のテキスト、한국어", "日本語"},
		{"RTL override", "abc\u202Egnp.exe and \u2066isolate\u2069", "\u202Egnp"},
		{"zero width", "zero\u200Bwidth\u200Djoiner\uFEFFbom\u2060wj", "\u200Bwidth"},
		{"combining marks", "e\u0301 n\u0303 Z\u0351\u0300\u0316\u0317 a\u20DD", "n\u0303"},
		{"astral and specials", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \U0010FFFD <b>&amp;</b> \"quotes\" \\ back", "𝔫𝔦𝔠"},
	}
	for _, tt := range texts {
		t.Run(tt.name, func(t *testing.T) {
			res := mustChat(t, e, c, cozesim.BotMemory, tt.v, "")
			if !strings.Contains(res.Answer, tt.v) {
				t.Errorf("answer %q does not carry the text byte-exact", res.Answer)
			}
			_, evs := mustStream(t, e, c, cozesim.BotMemory, tt.v, res.ConversationID)
			if got := deltaText(t, evs); !strings.Contains(got, tt.v) {
				t.Errorf("streamed answer %q does not carry the text", got)
			}
			msgs := decode[messagesBody](t, e.get(c, "/api/conversations/"+res.ConversationID+"/messages"))
			if len(msgs.Messages) != 4 || msgs.Messages[0].Content != tt.v || msgs.Messages[2].Content != tt.v {
				t.Fatalf("history = %+v, want the text twice, byte-exact", msgs.Messages)
			}
			if !utf8.ValidString(msgs.Conversation.Title) || !strings.HasPrefix(tt.v, strings.Fields(msgs.Conversation.Title)[0]) {
				t.Errorf("title %q is not a prefix of the message", msgs.Conversation.Title)
			}
			list := decode[struct {
				Conversations []conversationJSON `json:"conversations"`
			}](t, e.get(c, "/api/conversations?q="+url.QueryEscape(tt.search))).Conversations
			if len(list) != 1 || list[0].ID != res.ConversationID {
				t.Errorf("search %q found %+v", tt.search, list)
			}
			md := e.get(c, "/api/conversations/"+res.ConversationID+"/export?format=md")
			if !strings.Contains(string(md.body), tt.v) {
				t.Errorf("markdown export lacks the text")
			}
			js := decode[messagesBody](t, e.get(c, "/api/conversations/"+res.ConversationID+"/export?format=json"))
			if len(js.Messages) == 0 || js.Messages[0].Content != tt.v {
				t.Errorf("JSON export first message = %+v", js.Messages)
			}
		})
	}

	t.Run("titles cut on rune boundaries", func(t *testing.T) {
		msg := strings.Repeat("👩‍👩‍👧", 40) + strings.Repeat("長", 100)
		res := mustChat(t, e, c, cozesim.BotAssistant, msg, "")
		title := decode[messagesBody](t, e.get(c, "/api/conversations/"+res.ConversationID+"/messages")).Conversation.Title
		if !utf8.ValidString(title) || !strings.HasPrefix(msg, title) || title == "" || len(title) >= len(msg) {
			t.Errorf("title %q is not a valid, shorter prefix", title)
		}
		for _, tt := range []struct {
			name, title string
			want        int
		}{
			{"100 CJK runes", strings.Repeat("題", 100), http.StatusOK},
			{"101 CJK runes", strings.Repeat("題", 101), http.StatusBadRequest},
			{"100 emoji", strings.Repeat("😀", 100), http.StatusOK},
			{"control chars", "a\u0007b", http.StatusBadRequest},
			{"newline", "a\nb", http.StatusBadRequest},
		} {
			r := e.api(c, "PATCH", "/api/conversations/"+res.ConversationID, map[string]string{"title": tt.title})
			if r.status != tt.want {
				t.Errorf("%s: status = %d, want %d", tt.name, r.status, tt.want)
				continue
			}
			if tt.want == http.StatusOK && decode[conversationJSON](t, r).Title != tt.title {
				t.Errorf("%s: title not stored byte-exact", tt.name)
			}
		}
	})

	t.Run("invalid UTF-8", func(t *testing.T) {
		before := e.sim.Calls("POST /v3/chat")
		for _, body := range []string{
			`{"bot_id":"` + cozesim.BotAssistant + `","message":"a` + "\xff" + `b"}`,
			`{"bot_id":"` + cozesim.BotAssistant + `","message":"` + "\xed\xa0\x80" + `"}`, // encoded surrogate
			`{"bot_id":"` + cozesim.BotAssistant + `","message":"` + "\xc0\xaf" + `"}`,     // overlong
			`{"bot_id":"` + cozesim.BotAssistant + `","message":"ok","bot_name":"` + "\xfe" + `"}`,
		} {
			r := e.send(c, req{method: "POST", path: "/api/chat", ctype: "application/json", body: body,
				hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
			mustStatus(t, "invalid UTF-8", r, http.StatusBadRequest)
		}
		if n := e.sim.Calls("POST /v3/chat") - before; n != 0 {
			t.Errorf("sim chat calls = %d, want 0", n)
		}
		r := e.get(c, "/api/conversations?q=%FF")
		mustStatus(t, "search with invalid UTF-8", r, http.StatusBadRequest)
	})

	t.Run("lone surrogate escape", func(t *testing.T) {
		// encoding/json turns a lone \ud800 into U+FFFD; never a 500.
		body, _ := json.Marshal(map[string]string{"bot_id": cozesim.BotAssistant})
		raw := strings.TrimSuffix(string(body), "}") + `,"message":"x\ud800y"}`
		r := e.send(c, req{method: "POST", path: "/api/chat", ctype: "application/json", body: raw,
			hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
		if r.status >= 500 {
			t.Errorf("status = %d, want no 5xx", r.status)
		}
	})
}
