package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// Catalog group H: bad input (cases 53–57).

func TestCase53_OversizedBodies(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	big := `{"bot_id":"` + cozesim.BotAssistant + `","message":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name, method, path, body string
	}{
		{"chat 2 MiB", "POST", "/api/chat", big},
		{"cancel 2 MiB", "POST", "/api/chat/cancel", big},
		{"rename 2 MiB", "PATCH", "/api/conversations/7450000000000000001", `{"title":"` + strings.Repeat("x", 2<<20) + `"}`},
		{"just over the limit", "POST", "/api/chat", `{"bot_id":"` + cozesim.BotAssistant + `","message":"` + strings.Repeat("a", maxJSONBody) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.send(c, req{method: tt.method, path: tt.path, ctype: "application/json", body: tt.body,
				hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
			mustStatus(t, tt.name, r, http.StatusRequestEntityTooLarge)
			if r.errorCode() != "too_large" {
				t.Errorf("code = %q, want too_large", r.errorCode())
			}
		})
	}
	mustNotReachCoze(t, e, "POST /v3/chat")
	// Two session cookies count as unauthenticated (no guessing which one).
	t.Run("duplicate session cookies", func(t *testing.T) {
		var sess string
		for _, ck := range c.Jar.Cookies(mustURL(t, e.url)) {
			if ck.Name == e.auth.SessionCookieName() {
				sess = ck.Name + "=" + ck.Value
			}
		}
		if sess == "" {
			t.Fatal("no session cookie in the jar")
		}
		plain := e.newClient()
		plain.Jar = nil
		r := e.send(plain, req{method: "GET", path: "/api/workspaces", hdr: map[string]string{"Cookie": sess + "; " + sess}})
		mustStatus(t, "two session cookies", r, http.StatusUnauthorized)
	})
	// ReadHeaderTimeout, MaxHeaderBytes (431) and slow bodies are http.Server
	// settings made in internal/app (serve.go); web.New cannot be asked for
	// them, so they are not tested here.
}

func TestCase54_MalformedJSON(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	bot := cozesim.BotAssistant
	tests := []struct {
		name, body string
	}{
		{"empty body", ``},
		{"whitespace", "  \n\t"},
		{"truncated", `{"bot_id":"` + bot + `","message":"hi"`},
		{"truncated string", `{"bot_id":"` + bot + `","message":"hi`},
		{"trailing garbage", `{"bot_id":"` + bot + `","message":"hi"} x`},
		{"two objects", `{"bot_id":"` + bot + `","message":"hi"}{"bot_id":"` + bot + `","message":"hi"}`},
		{"trailing comma", `{"bot_id":"` + bot + `","message":"hi",}`},
		{"single quotes", `{'bot_id':'` + bot + `','message':'hi'}`},
		{"bot_id number", `{"bot_id":` + bot + `,"message":"hi"}`},
		{"message array", `{"bot_id":"` + bot + `","message":["hi"]}`},
		{"message object", `{"bot_id":"` + bot + `","message":{"text":"hi"}}`},
		{"stream string", `{"bot_id":"` + bot + `","message":"hi","stream":"yes"}`},
		{"file_ids string", `{"bot_id":"` + bot + `","message":"hi","file_ids":"1"}`},
		{"file_ids numbers", `{"bot_id":"` + bot + `","message":"hi","file_ids":[1]}`},
		{"null", `null`},
		{"array", `[{"bot_id":"` + bot + `","message":"hi"}]`},
		{"string", `"hi"`},
		{"number", `42`},
		{"empty object", `{}`},
		{"duplicate keys", `{"bot_id":"1","bot_id":"` + bot + `","message":"hi"}`},
		{"duplicate keys, differing case", `{"bot_id":"` + bot + `","Message":"a","message":"hi"}`},
		{"unknown field", `{"bot_id":"` + bot + `","message":"hi","admin":true}`},
		{"unknown field, other case", `{"bot_id":"` + bot + `","message":"hi","BOT_ID":"1"}`},
		{"nested 10^4", `{"bot_id":"` + bot + `","message":"hi","file_ids":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`},
		{"nested objects 10^4", strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000)},
		{"empty message", `{"bot_id":"` + bot + `","message":""}`},
		{"blank message", `{"bot_id":"` + bot + `","message":"  \n\t "}`},
		{"message null", `{"bot_id":"` + bot + `","message":null}`},
		{"over-long message", `{"bot_id":"` + bot + `","message":"` + strings.Repeat("长", 10001) + `"}`},
		{"NUL in message", `{"bot_id":"` + bot + `","message":"a\u0000b"}`},
		{"too many files", `{"bot_id":"` + bot + `","message":"hi","file_ids":["1","2","3","4","5","6","7","8","9","10","11"]}`},
		{"bot_name too long", `{"bot_id":"` + bot + `","message":"hi","bot_name":"` + strings.Repeat("n", 101) + `"}`},
		{"comment", `{"bot_id":"` + bot + `", /* x */ "message":"hi"}`},
		{"BOM", "\ufeff" + `{"bot_id":"` + bot + `","message":"hi"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.send(c, req{method: "POST", path: "/api/chat", ctype: "application/json", body: tt.body,
				hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
			mustStatus(t, tt.name, r, http.StatusBadRequest)
			if r.errorCode() != "bad_request" {
				t.Errorf("code = %q, want bad_request", r.errorCode())
			}
		})
	}
	mustNotReachCoze(t, e, "POST /v3/chat")
	// The same decoder guards cancel and rename.
	for _, p := range []struct{ method, path string }{{"POST", "/api/chat/cancel"}, {"PATCH", "/api/conversations/7450000000000000001"}} {
		for _, body := range []string{``, `null`, `[]`, `{"x":1}`, `{"title":1}`, `{} {}`, `{"title":"a","title":"b"}`} {
			t.Run(p.path+"/"+body, func(t *testing.T) {
				r := e.send(c, req{method: p.method, path: p.path, ctype: "application/json", body: body,
					hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
				mustStatus(t, body, r, http.StatusBadRequest)
			})
		}
	}
}

// badIDs are the catalog's hostile ids.
var badIDs = []struct{ name, v string }{
	{"empty", ""}, {"letters", "abc"}, {"negative", "-1"}, {"exponent", "1e9"},
	{"200 digits", strings.Repeat("7", 200)}, {"dot-dot", "../v1/x"}, {"escaped slash", "%2F"},
	{"arabic-indic digit", "٣"}, {"space", "123 456"}, {"plus", "+123"}, {"query", "1?x=1"}, {"hash", "1#x"},
	{"fullwidth digits", "１２３"}, {"newline", "123\n"}, {"float", "1.0"},
}

func TestCase55_BadIDs(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	ok := mustChat(t, e, c, cozesim.BotAssistant, "seed", "")
	e.sim.ResetCalls()
	jsonStr := func(s string) string { return fmt.Sprintf("%q", s) }
	for _, id := range badIDs {
		bodies := []struct{ name, path, body string }{
			{"bot_id", "/api/chat", `{"bot_id":` + jsonStr(id.v) + `,"message":"hi"}`},
			{"file_ids", "/api/chat", `{"bot_id":"` + cozesim.BotAssistant + `","message":"hi","file_ids":[` + jsonStr(id.v) + `]}`},
			{"cancel conversation_id", "/api/chat/cancel", `{"conversation_id":` + jsonStr(id.v) + `,"chat_id":"` + ok.ChatID + `"}`},
			{"cancel chat_id", "/api/chat/cancel", `{"conversation_id":"` + ok.ConversationID + `","chat_id":` + jsonStr(id.v) + `}`},
		}
		if id.v != "" { // "" means a new conversation
			bodies = append(bodies, struct{ name, path, body string }{"conversation_id", "/api/chat",
				`{"bot_id":"` + cozesim.BotAssistant + `","message":"hi","conversation_id":` + jsonStr(id.v) + `}`})
		}
		for _, b := range bodies {
			t.Run(b.name+"/"+id.name, func(t *testing.T) {
				r := e.send(c, req{method: "POST", path: b.path, ctype: "application/json", body: b.body,
					hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
				mustStatus(t, b.name, r, http.StatusBadRequest)
			})
		}
		esc := url.PathEscape(id.v)
		paths := []struct{ name, method, path, ctype, body string }{
			{"bot path", "GET", "/api/bots/" + esc, "", ""},
			{"messages path", "GET", "/api/conversations/" + esc + "/messages", "", ""},
			{"export path", "GET", "/api/conversations/" + esc + "/export", "", ""},
			{"rename path", "PATCH", "/api/conversations/" + esc, "application/json", `{"title":"t"}`},
			{"delete path", "DELETE", "/api/conversations/" + esc, "", ""},
			{"resume path", "GET", "/api/chat/" + esc + "/stream", "", ""},
			{"workspace query", "GET", "/api/bots?workspace_id=" + url.QueryEscape(id.v), "", ""},
			{"bot query", "GET", "/api/conversations?bot_id=" + url.QueryEscape(id.v), "", ""},
		}
		for _, p := range paths {
			t.Run(p.name+"/"+id.name, func(t *testing.T) {
				r := e.send(c, req{method: p.method, path: p.path, ctype: p.ctype, body: p.body,
					hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
				switch {
				case id.v == "" && strings.Contains(p.path, "?"):
					// An empty query id means "none given": a normal answer.
				case id.v == "":
					// No id segment at all: no route, or ServeMux's redirect
					// to the cleaned path (// -> /).
					switch r.status {
					case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed,
						http.StatusMovedPermanently, http.StatusTemporaryRedirect:
					default:
						t.Errorf("status = %d, want 400/404/405/301/307", r.status)
					}
				default:
					mustStatus(t, p.path, r, http.StatusBadRequest)
				}
			})
		}
	}
	for key, n := range e.sim.AllCalls() {
		if key == "GET /v1/workspaces" || key == "GET /v1/bots" {
			continue // the default workspace's list for an empty workspace_id
		}
		t.Errorf("upstream call %q ×%d for a bad id", key, n)
	}
}

func TestCase57_BadMultipart(t *testing.T) {
	t.Parallel()
	const limit = 4096
	e := newTestEnv(t, envOpts{maxUpload: limit})
	c := signIn(t, e, cozesim.UserAlan)

	manyParts := func() (string, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for i := range 10000 {
			_ = mw.WriteField(fmt.Sprintf("f%d", i), "x")
		}
		w, _ := mw.CreateFormFile("file", "pixel.png")
		_, _ = w.Write(pngBytes)
		_ = mw.Close()
		return mw.FormDataContentType(), b.String()
	}
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>`)
	pngCT, pngBody := multipartBody(t, "file", "pixel.png", pngBytes)
	type tc struct {
		name, ctype, body string
		want              []int
	}
	mk := func(name, field, filename string, data []byte, want ...int) tc {
		ct, body := multipartBody(t, field, filename, data)
		return tc{name, ct, body, want}
	}
	mpCT, mpBody := manyParts()
	tests := []tc{
		{"missing boundary", "multipart/form-data", pngBody, []int{400, 415}},
		{"mismatched boundary", "multipart/form-data; boundary=nope", pngBody, []int{400}},
		{"empty body", pngCT, "", []int{400}},
		{"truncated", pngCT, pngBody[:len(pngBody)/2], []int{400}},
		mk("zero-byte file", "file", "empty.png", nil, 400),
		mk("over the limit", "file", "big.png", append(append([]byte{}, pngBytes...), bytes.Repeat([]byte{0}, 2*limit)...), 413),
		mk("far over the limit", "file", "big.csv", bytes.Repeat([]byte("a"), 200*limit), 413),
		{"10,000 parts", mpCT, mpBody, []int{400, 413}},
		mk("no file part", "other", "pixel.png", pngBytes, 400),
		mk("PNG header on .exe", "file", "setup.exe", pngBytes, 415),
		mk("PNG bytes named .txt", "file", "notes.txt", pngBytes, 415),
		mk("SVG", "file", "logo.svg", svg, 415),
		mk("SVG named .png", "file", "logo.png", svg, 415),
		mk("HTML named .txt", "file", "page.txt", []byte("<html><script>alert(1)</script></html>"), 415),
		mk("no extension", "file", "pixel", pngBytes, 415),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.send(c, req{method: "POST", path: "/api/files", ctype: tt.ctype, body: tt.body,
				hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
			for _, w := range tt.want {
				if r.status == w {
					return
				}
			}
			t.Errorf("status = %d (%s), want one of %v", r.status, truncate(string(r.body), 200), tt.want)
		})
	}
	mustNotReachCoze(t, e, "POST /v1/files/upload")

	// A path in the file name is never passed on as a path.
	t.Run("filename ../../x.png", func(t *testing.T) {
		for _, name := range []string{"../../x.png", `..\..\x.png`, "/etc/x.png"} {
			r := uploadFile(t, e, c, name, pngBytes, nil)
			mustStatus(t, name, r, http.StatusOK)
			if got := decode[map[string]any](t, r)["file_name"]; got != "x.png" {
				t.Errorf("%s: file_name = %v, want x.png", name, got)
			}
		}
		for _, sr := range e.sim.Requests() {
			if sr.Path == "/v1/files/upload" && (bytes.Contains(sr.Body, []byte("..")) || bytes.Contains(sr.Body, []byte("/etc"))) {
				t.Errorf("a path reached Coze: %q", truncate(string(sr.Body), 300))
			}
		}
	})
}

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
