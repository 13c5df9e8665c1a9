package cozesim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestChatRules(t *testing.T) {
	no := false
	tests := []struct {
		name     string
		conv     bool
		body     map[string]any
		wantCode int
	}{
		{"4007 non-stream without history", false, func() map[string]any {
			b := chatBodyFor(BotAssistant, "x", false)
			b["auto_save_history"] = no
			return b
		}(), 4007},
		{"4015 draft bot", false, chatBodyFor(BotDraft, "x", false), 4015},
		{"draft via unpublished_draft", false, func() map[string]any {
			b := chatBodyFor(BotDraft, "x", false)
			b["publish_status"] = "unpublished_draft"
			return b
		}(), 0},
		{"bot_version with draft", false, func() map[string]any {
			b := chatBodyFor(BotDraft, "x", false)
			b["publish_status"], b["bot_version"] = "unpublished_draft", "1"
			return b
		}(), 4000},
		{"unknown bot", false, chatBodyFor("7000000000000000000", "x", false), 4006},
		{"other user's personal bot", false, chatBodyFor("7410200100000000000", "x", false), 4006},
		{"no user_id", false, map[string]any{"bot_id": BotAssistant, "additional_messages": []any{map[string]any{"role": "user", "content": "x", "content_type": "text"}}}, 4000},
		{"empty conversation, no messages", true, map[string]any{"bot_id": BotAssistant, "user_id": "u"}, 4000},
		{"unknown fields and empty connector", true, func() map[string]any {
			b := chatBodyFor(BotAssistant, "x", false)
			b["connector_id"], b["whatever"] = "", map[string]any{"a": 1}
			b["additional_messages"] = []any{map[string]any{"id": "", "chat_id": "", "created_at": 0, "reasoning_content": "", "role": "user", "type": "question", "content": "x", "content_type": "text"}}
			return b
		}(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, tok := alanEnv(t, Options{})
			path := "/v3/chat"
			if tt.conv {
				path += "?conversation_id=" + e.sim.NewConversation(UserAlan, "")
			}
			if m := e.api(t, http.MethodPost, path, tok, tt.body); code(m) != tt.wantCode {
				t.Errorf("code %v (%v), want %d", m["code"], m["msg"], tt.wantCode)
			}
		})
	}
}

func TestPublishFixes4015(t *testing.T) {
	e := mustEnv(t, Options{})
	tok, _ := e.sim.IssueToken(UserBea)
	list := func(status string) int {
		m := e.mustOK(t, http.MethodGet, "/v1/bots?workspace_id="+WorkspaceTeam+status, tok, nil)
		return len(dataMap(m)["items"].([]any))
	}
	// The team workspace holds nine demo bots; only the Draft Bot is unpublished.
	if list("") != 8 || list("&publish_status=all") != 9 || list("&publish_status=unpublished_draft") != 1 {
		t.Fatalf("lists before publish: %d %d %d", list(""), list("&publish_status=all"), list("&publish_status=unpublished_draft"))
	}
	if m := e.api(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(BotDraft, "x", true)); code(m) != 4015 {
		t.Fatalf("code %v", m["code"])
	}
	e.mustOK(t, http.MethodGet, "/v1/bots/"+BotDraft+"?is_published=false", tok, nil)
	e.mustOK(t, http.MethodPost, "/v1/bot/publish", tok, map[string]any{"bot_id": BotDraft, "connector_ids": []string{"1024"}})
	_, b := e.stream(t, "/v3/chat", tok, chatBodyFor(BotDraft, "x", true))
	if evs := readSSE(t, b, false); evs[len(evs)-1].Name != "done" {
		t.Errorf("chat after publish: %s", b)
	}
	if list("") != 9 || !e.sim.BotPublished(BotDraft) {
		t.Errorf("list after publish: %d", list(""))
	}
	// Paging of the new list.
	m := e.mustOK(t, http.MethodGet, "/v1/bots?workspace_id="+WorkspaceTeam+"&page_num=2&page_size=2", tok, nil)
	if n := len(dataMap(m)["items"].([]any)); n != 2 || dataMap(m)["total"].(float64) != 9 {
		t.Errorf("page 2: %d items, total %v", n, dataMap(m)["total"])
	}
	if m := e.api(t, http.MethodGet, "/v1/bots?workspace_id="+WorkspaceAlan, tok, nil); code(m) != 4101 {
		t.Errorf("Bea listing Alan's space: code %v", m["code"])
	}
}

// openStream starts a streaming chat and returns the response for reading.
func (e *env) openStream(tb testing.TB, token, path string, body any) *http.Response {
	tb.Helper()
	j, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(tb.Context(), http.MethodPost, e.base()+path, bytes.NewReader(j))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

// nextEvent reads one chat event from a live stream.
func nextEvent(tb testing.TB, sc *bufio.Scanner) (name string, data map[string]any) {
	tb.Helper()
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event:"):
			name = line[6:]
		case strings.HasPrefix(line, "data:"):
			_ = json.Unmarshal([]byte(line[5:]), &data)
		case line == "" && name != "":
			return name, data
		}
	}
	tb.Fatalf("stream ended: %v", sc.Err())
	return "", nil
}

func TestCancelDuringStreamAndContext(t *testing.T) {
	e := mustEnv(t, Options{})
	tok, _ := e.sim.IssueToken(UserChen)
	convID := e.sim.NewConversation(UserChen, BotMemory)
	// Turn 1 on the memory bot.
	_, b := e.stream(t, "/v3/chat?conversation_id="+convID, tok, chatBodyFor(BotMemory, "alpha", true))
	readSSE(t, b, false)
	// Turn 2: slow deltas, cancelled mid-stream.
	e.sim.AddFault(Fault{Endpoint: "POST /v3/chat", Times: 1, DeltaDelay: 20 * time.Millisecond})
	resp := e.openStream(t, tok, "/v3/chat?conversation_id="+convID, chatBodyFor(BotMemory, "beta", true))
	defer resp.Body.Close()
	sc := scanLines(resp.Body)
	_, created := nextEvent(t, sc)
	chatID := str(created, "id")
	nextEvent(t, sc) // in_progress
	nextEvent(t, sc) // first delta
	c := e.mustOK(t, http.MethodPost, "/v3/chat/cancel", tok, map[string]any{"chat_id": chatID, "conversation_id": convID})
	if str(dataMap(c), "status") != "canceled" {
		t.Fatalf("cancel: %v", c)
	}
	var last string
	for last != "done" {
		last, _ = nextEvent(t, sc)
	}
	if st, _ := e.sim.ChatStatus(convID, chatID); st != "canceled" {
		t.Errorf("status after stream %s", st)
	}
	if m := e.api(t, http.MethodPost, "/v3/chat/cancel", tok, map[string]any{"chat_id": chatID, "conversation_id": convID}); code(m) != 4104 {
		t.Errorf("second cancel: %v", m["code"])
	}
	// Turn 3 must not see the cancelled "beta".
	_, b = e.stream(t, "/v3/chat?conversation_id="+convID, tok, chatBodyFor(BotMemory, "gamma", true))
	var answer string
	for _, ev := range readSSE(t, b, false) {
		if ev.Name == "conversation.message.completed" && strings.Contains(ev.Data, `"type":"answer"`) {
			var m map[string]any
			_ = json.Unmarshal([]byte(ev.Data), &m)
			answer = str(m, "content")
		}
	}
	if !strings.HasPrefix(answer, "This is turn 2.") || strings.Contains(answer, "beta") || !strings.Contains(answer, "alpha") {
		t.Errorf("answer after cancel: %q", answer)
	}
}

func TestDisconnectStopsStream(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	resp := e.openStream(t, tok, "/v3/chat", chatBodyFor(BotSlow, "tell a story", true))
	sc := scanLines(resp.Body)
	_, created := nextEvent(t, sc)
	nextEvent(t, sc)
	nextEvent(t, sc)
	start := time.Now()
	nextEvent(t, sc)
	if gap := time.Since(start); gap < 45*time.Millisecond {
		t.Errorf("Slow Storyteller deltas %v apart, want >= 50ms", gap)
	}
	resp.Body.Close()
	convID, chatID := str(created, "conversation_id"), str(created, "id")
	// The handler notices the disconnect at its next write or pause and
	// saves the chat (§19 Q13 reading A).
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := e.sim.ChatStatus(convID, chatID)
		if st == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status still %s", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A new chat in the same conversation is allowed now.
	e.mustOK(t, http.MethodPost, "/v3/chat?conversation_id="+convID, tok, chatBodyFor(BotAssistant, "x", false))
}

func TestSlowStoryFragments(t *testing.T) {
	n := len(fragments(storyReply("tell a story"), 0, true))
	if n < 120 || n > 180 {
		t.Errorf("slow story has %d deltas, want about 150", n)
	}
	for _, f := range fragments("你好世界 hello world, this is a test of fragments", 0, false) {
		if r := len([]rune(f)); r < 1 || r > 12 {
			t.Errorf("fragment %q", f)
		}
	}
	if got := fragments("abcdef", 1, false); len(got) != 6 {
		t.Errorf("chunk=1: %v", got)
	}
}

// A local plugin call ends the chat with requires_action and its tool call,
// streamed or polled (the app ends the reply there).
func TestToolCallRequiresAction(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "non-stream", true: "stream"}[stream], func(t *testing.T) {
			e, tok := alanEnv(t, Options{})
			var r map[string]any
			if stream {
				_, _, evs := e.chatStream(t, tok, "/v3/chat", chatBodyFor(BotAssistant, "#tool city=杭州", true))
				last := evs[len(evs)-2]
				if last.Name != "conversation.chat.requires_action" {
					t.Fatalf("stream ends with %s", last.Name)
				}
				r = last.Data
			} else {
				ch := dataMap(e.mustOK(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(BotAssistant, "#tool city=杭州", false)))
				r = dataMap(e.mustOK(t, http.MethodGet, "/v3/chat/retrieve?conversation_id="+str(ch, "conversation_id")+"&chat_id="+str(ch, "id"), tok, nil))
			}
			if str(r, "status") != "requires_action" {
				t.Fatalf("status %s", str(r, "status"))
			}
			calls := r["required_action"].(map[string]any)["submit_tool_outputs"].(map[string]any)["tool_calls"].([]any)
			if args := str(calls[0].(map[string]any)["function"].(map[string]any), "arguments"); !strings.Contains(args, "杭州") {
				t.Errorf("arguments %s", args)
			}
		})
	}
}

func TestXSSLabAndFollowUps(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	_, b := e.stream(t, "/v3/chat", tok, chatBodyFor(BotXSS, "all payloads", true))
	var answer string
	var followUps []string
	for _, ev := range readSSE(t, b, false) {
		var m map[string]any
		_ = json.Unmarshal([]byte(ev.Data), &m)
		if ev.Name != "conversation.message.completed" {
			continue
		}
		switch str(m, "type") {
		case "answer":
			answer = str(m, "content")
		case "follow_up":
			followUps = append(followUps, str(m, "content"))
		}
	}
	for _, p := range xssPayloads {
		if !strings.Contains(answer, p.payload) {
			t.Errorf("answer lacks payload %s", p.key)
		}
	}
	if len(followUps) != 3 || followUps[0] != xssPayloads[0].payload {
		t.Errorf("follow-ups: %q", followUps)
	}
	_, b = e.stream(t, "/v3/chat", tok, chatBodyFor(BotXSS, "just the svg please chunk=1", true))
	if !strings.Contains(string(b), `"content":"XSS Lab payloads:\n\n<svg onload=\"window.__pwned=1\"><circle r=\"10\"/></svg>\n"`) || !strings.Contains(string(b), `"content":"<"`) {
		t.Errorf("svg-only, chunk=1 reply: %.400s", b)
	}
}

func TestUnpublishBringsBack4015(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	e.mustOK(t, http.MethodPost, "/v1/bots/"+BotAssistant+"/unpublish", tok, map[string]any{"connector_id": "1024", "unpublish_reason": "test"})
	if m := e.api(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(BotAssistant, "x", true)); code(m) != 4015 {
		t.Errorf("after unpublish: %v", m["code"])
	}
}

func TestHostileMetadataAndCard(t *testing.T) {
	e := mustEnv(t, Options{HostileMetadata: true})
	tok, _ := e.sim.IssueToken(UserChen)
	me := dataMap(e.mustOK(t, http.MethodGet, "/v1/users/me", tok, nil))
	if !strings.Contains(str(me, "nick_name"), "onerror") {
		t.Errorf("nick_name %q", str(me, "nick_name"))
	}
	bi := dataMap(e.mustOK(t, http.MethodGet, "/v1/bots/"+BotXSS, tok, nil))
	if str(bi, "icon_url") != "javascript:window.__pwned=1" || !strings.Contains(str(bi, "name"), "<img") {
		t.Errorf("bot %v", bi)
	}
	_, b := e.stream(t, "/v3/chat", tok, withCards(chatBodyFor(BotXSS, "#card", true)))
	evs := readSSE(t, b, false)
	for _, ev := range evs {
		if ev.Name == "conversation.message.delta" {
			t.Errorf("card answer was streamed as deltas")
		}
	}
	if !strings.Contains(string(b), `"content_type":"card"`) {
		t.Errorf("no card: %s", b)
	}
}

// POST /v3/chat refuses "parameters" given as a JSON string, as coze-studio
// does, and takes an object (coze-protocol E5).
func TestChatRefusesStringParameters(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	body := chatBodyFor(BotAssistant, "hi", false)
	body["parameters"] = `{"city":"Paris"}`
	status, _, b := e.do(t, http.MethodPost, "/v3/chat", tok, body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if status != http.StatusBadRequest || code(m) != 400 || m["msg"] != "parameters field should be an object, not a string" {
		t.Errorf("string parameters: %d %s, want 400 with coze-studio's message", status, b)
	}
	body["parameters"] = map[string]any{"city": "Paris"}
	if m := e.api(t, http.MethodPost, "/v3/chat", tok, body); code(m) != 0 {
		t.Errorf("object parameters: %v", m)
	}
}

// coze-protocol E11: a workflow inside a Coze app runs only with its app_id, never
// together with bot_id; list and info carry app_id ("0" when none).
func TestWorkflowInAppNeedsAppID(t *testing.T) {
	e, tok := alanEnv(t, Options{})

	items, _ := dataMap(e.mustOK(t, http.MethodGet, "/v1/workflows?workspace_id="+WorkspaceTeam+"&page_num=1&page_size=30", tok, nil))["items"].([]any)
	apps := map[string]string{}
	for _, it := range items {
		m := it.(map[string]any)
		apps[str(m, "workflow_id")] = str(m, "app_id")
	}
	if apps[WorkflowInApp] != DemoAppID || apps[WorkflowWeather] != "0" {
		t.Errorf("list app_ids %v, want %s for the app workflow and \"0\" for others", apps, DemoAppID)
	}
	info := dataMap(e.mustOK(t, http.MethodGet, "/v1/workflows/"+WorkflowInApp, tok, nil))
	if d, _ := info["workflow_detail"].(map[string]any); str(d, "app_id") != DemoAppID {
		t.Errorf("info workflow_detail %v, want app_id %s", d, DemoAppID)
	}

	tests := []struct {
		name     string
		body     map[string]any
		wantCode int
	}{
		{"without app_id", map[string]any{"workflow_id": WorkflowInApp}, 4200},
		{"with another app's id", map[string]any{"workflow_id": WorkflowInApp, "app_id": "7396000000000000999"}, 4200},
		{"with app_id and bot_id", map[string]any{"workflow_id": WorkflowInApp, "app_id": DemoAppID, "bot_id": BotAssistant}, 4000},
		{"with its app_id", map[string]any{"workflow_id": WorkflowInApp, "app_id": DemoAppID}, 0},
		{"bot_id and app_id on a plain workflow", map[string]any{"workflow_id": WorkflowJoke, "app_id": DemoAppID, "bot_id": BotAssistant}, 4000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m := e.api(t, http.MethodPost, "/v1/workflow/run", tok, tt.body); code(m) != tt.wantCode {
				t.Errorf("run: code %v (%v), want %d", m["code"], m["msg"], tt.wantCode)
			}
			_, h, b := e.do(t, http.MethodPost, "/v1/workflow/stream_run", tok, tt.body)
			isStream := strings.HasPrefix(h.Get("Content-Type"), "text/event-stream")
			if tt.wantCode == 0 {
				if !isStream || !strings.Contains(string(b), "Coze app") || !strings.Contains(string(b), "event: Done") {
					t.Errorf("stream_run: %s %q, want the app workflow's run", h.Get("Content-Type"), tail(b))
				}
			} else if isStream || !strings.Contains(string(b), `"code":`+strconv.Itoa(tt.wantCode)) {
				t.Errorf("stream_run: %s %q, want the JSON error %d", h.Get("Content-Type"), b, tt.wantCode)
			}
		})
	}
}
