package cozesim

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func chatBodyFor(botID, text string, stream bool) map[string]any {
	return map[string]any{"bot_id": botID, "user_id": "u1", "stream": stream, "auto_save_history": true,
		"additional_messages": []map[string]any{{"role": "user", "type": "question", "content": text, "content_type": "text"}}}
}

// withCards asks for card answers: the body's enable_card set, as coze2app
// sends it.
func withCards(body map[string]any) map[string]any {
	body["enable_card"] = true
	return body
}

func TestChatStreamOrderAndContent(t *testing.T) {
	e, tok := alanEnv(t, Options{PathPrefix: "/_sim", PublicBase: "http://sim.example"})
	h, body := e.stream(t, "/v3/chat", tok, chatBodyFor(BotAssistant, "你好, how are you?", true))
	if !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") || len(h.Get("X-Tt-Logid")) != 34 {
		t.Fatalf("headers %v", h)
	}
	evs := readSSE(t, body, false)
	got := strings.Join(collapse(names(evs)), ",")
	want := "conversation.chat.created,conversation.chat.in_progress,conversation.message.delta*,conversation.message.completed*,conversation.chat.completed,done"
	if got != want {
		t.Fatalf("events %s\nwant %s", got, want)
	}
	var full strings.Builder
	var answerID, convID, chatID string
	var completed []map[string]any
	for _, ev := range evs {
		var m map[string]any
		_ = json.Unmarshal([]byte(ev.Data), &m)
		switch ev.Name {
		case "conversation.chat.created":
			convID, chatID = str(m, "conversation_id"), str(m, "id")
		case "conversation.message.delta":
			if answerID == "" {
				answerID = str(m, "id")
			}
			if str(m, "id") != answerID {
				t.Errorf("delta id %s != %s", str(m, "id"), answerID)
			}
			c := str(m, "content")
			if n := len([]rune(c)); n < 1 || n > 12 {
				t.Errorf("fragment %q has %d runes", c, n)
			}
			full.WriteString(c)
		case "conversation.message.completed":
			completed = append(completed, m)
		case "done":
			if ev.Data != `"[DONE]"` {
				t.Errorf("done data %s", ev.Data)
			}
		}
	}
	if len(completed) != 5 || str(completed[0], "type") != "answer" || str(completed[1], "type") != "verbose" || str(completed[4], "type") != "follow_up" {
		t.Fatalf("completed messages: %v", completed)
	}
	answer := str(completed[0], "content")
	if answer != full.String() {
		t.Errorf("completed answer differs from deltas")
	}
	for _, want := range []string{"## ", "**你好, how are you?**", "\n- ", "| --- |", "```go\n", "](https://", "![", "http://sim.example/_sim/assets/diagram.svg"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q:\n%s", want, answer)
		}
	}
	if st, _ := e.sim.ChatStatus(convID, chatID); st != "completed" {
		t.Errorf("status %s", st)
	}
	if types := e.sim.MessageTypes(convID); len(types) < 2 || types[0] != "question" || types[1] != "answer" {
		t.Errorf("conversation keeps %v, want the question then the answer first", types)
	}
}

// collapse turns runs of the same name into "name*".
func collapse(ns []string) []string {
	var out []string
	for i := 0; i < len(ns); {
		j := i
		for j < len(ns) && ns[j] == ns[i] {
			j++
		}
		if j-i > 1 {
			out = append(out, ns[i]+"*")
		} else {
			out = append(out, ns[i])
		}
		i = j
	}
	return out
}

func TestNonStreamChatAndMemory(t *testing.T) {
	e := mustEnv(t, Options{ChatDelay: 2 * time.Second})
	tok, _ := e.sim.IssueToken(UserBea)
	convID := e.sim.NewConversation(UserBea, BotMemory)
	for i, q := range []string{"apple", "banana", "cherry"} {
		m := e.mustOK(t, http.MethodPost, "/v3/chat?conversation_id="+convID, tok, chatBodyFor(BotMemory, q, false))
		ch := dataMap(m)
		if str(ch, "status") != "in_progress" {
			t.Fatalf("create status %s", str(ch, "status"))
		}
		chatID := str(ch, "id")
		busy := e.api(t, http.MethodPost, "/v3/chat?conversation_id="+convID, tok, chatBodyFor(BotMemory, "x", true))
		if code(busy) != 4016 {
			t.Errorf("second chat: code %v, want 4016", busy["code"])
		}
		r := e.mustOK(t, http.MethodGet, "/v3/chat/retrieve?conversation_id="+convID+"&chat_id="+chatID, tok, nil)
		if str(dataMap(r), "status") != "in_progress" {
			t.Errorf("before delay: %s", str(dataMap(r), "status"))
		}
		e.clock.Advance(2 * time.Second)
		r = e.mustOK(t, http.MethodPost, "/v3/chat/retrieve?conversation_id="+convID+"&chat_id="+chatID, tok, nil)
		if str(dataMap(r), "status") != "completed" {
			t.Fatalf("after delay: %s", str(dataMap(r), "status"))
		}
		ml := e.mustOK(t, http.MethodGet, "/v3/chat/message/list?conversation_id="+convID+"&chat_id="+chatID, tok, nil)
		var answer string
		for _, it := range ml["data"].([]any) {
			if mm := it.(map[string]any); str(mm, "type") == "answer" {
				answer = str(mm, "content")
			}
		}
		if want := "This is turn " + string(rune('1'+i)) + "."; !strings.HasPrefix(answer, want) {
			t.Errorf("answer %q, want prefix %q", answer, want)
		}
		if i == 2 && !strings.Contains(answer, "“apple”, “banana”") {
			t.Errorf("turn 3 does not remember: %q", answer)
		}
	}
}

func TestConcurrentChats(t *testing.T) {
	e := mustEnv(t, Options{})
	users := []string{UserAlan, UserBea, UserChen}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := range 30 {
		wg.Go(func() {
			tok, _ := e.sim.IssueToken(users[i%3])
			bot := []string{BotAssistant, BotMemory, BotXSS}[i%3]
			_, _, b := e.do(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(bot, "hello", i%2 == 0))
			if i%2 == 0 && !strings.HasSuffix(string(b), "event:done\ndata:\"[DONE]\"\n\n") {
				errs <- "stream did not finish: " + string(tail(b))
			}
			if i%2 == 1 && !strings.Contains(string(b), `"status":"in_progress"`) {
				errs <- "non-stream: " + string(b)
			}
			_, _, _ = e.do(t, http.MethodGet, "/v1/bots?workspace_id="+WorkspaceTeam, tok, nil)
			_ = e.sim.Calls("POST /v3/chat")
			_ = e.sim.Requests()
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	total := 0
	for _, u := range users {
		total += e.sim.ConversationCount(u)
	}
	if total != 30 || e.sim.Calls("POST /v3/chat") != 30 {
		t.Errorf("conversations %d, chat calls %d", total, e.sim.Calls("POST /v3/chat"))
	}
}

func TestMountedWithStripPrefix(t *testing.T) {
	s := New(Options{PathPrefix: "/_sim", Clock: NewFakeClock(t0)})
	mux := http.NewServeMux()
	mux.Handle("/_sim/", http.StripPrefix("/_sim", s))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "app", http.StatusTeapot) })
	e := mustEnv(t, Options{PathPrefix: "/_sim"})
	// Swap in the mounted handler behind the same test server.
	e.srv.Config.Handler = mux
	e.sim = s
	defer s.Close()
	tok, _ := s.IssueToken(UserAlan)
	m := e.mustOK(t, http.MethodGet, "/v1/bots?workspace_id="+WorkspaceTeam, tok, nil)
	icon := str(dataMap(m)["items"].([]any)[0].(map[string]any), "icon_url")
	if !strings.HasPrefix(icon, "/_sim/assets/") {
		t.Fatalf("icon_url %q", icon)
	}
	status, h, b := e.do(t, http.MethodGet, strings.TrimPrefix(icon, "/_sim"), "", nil)
	if status != 200 || h.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(b), "<svg") {
		t.Errorf("asset: %d %s", status, h.Get("Content-Type"))
	}
	app := DefaultApp()
	code := e.mustCode(t, app, UserAlan, "")
	if tok := e.exchange(t, app, code, app.RedirectURIs[0], ""); tok.status != 200 {
		t.Errorf("exchange through the mount: %s", tok.raw)
	}
	if s.Calls("token:authorization_code") != 1 || s.Calls("GET /oauth/consent") != 1 {
		t.Errorf("calls %v", s.AllCalls())
	}
}

func TestConsentPageEscapes(t *testing.T) {
	e := oauthEnv(t, Options{})
	q := "response_type=code&client_id=" + pkceApp.ClientID + "&redirect_uri=" + "http%3A%2F%2F127.0.0.1%3A9000%2Fcb%3Fx%3D1" +
		"&state=s&code_challenge=" + s256(verifier) + "&code_challenge_method=S256"
	loc := e.mustRedirect(t, http.MethodGet, "/api/permission/oauth2/authorize?"+q)
	_, h, b := e.do(t, http.MethodGet, loc, "", nil)
	page := string(b)
	if strings.Contains(page, "<SPA>") || !strings.Contains(page, "PKCE &lt;SPA&gt;") || !strings.Contains(page, "127.0.0.1:9000/cb?x=1") {
		t.Errorf("page not escaped or incomplete:\n%s", page)
	}
	for _, u := range []string{"Alan", "Bea", "Chen"} {
		if !strings.Contains(page, u) {
			t.Errorf("user %s missing", u)
		}
	}
	if h.Get("Content-Security-Policy") == "" {
		t.Errorf("no CSP")
	}
	// An unknown or used key shows an error page, not a redirect.
	if status, _, _ := e.do(t, http.MethodGet, "/oauth/consent?authorize_key=nope", "", nil); status != http.StatusBadRequest {
		t.Errorf("unknown key: %d", status)
	}
}
