package cozesim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestUploadErrors(t *testing.T) {
	tests := []struct {
		name     string
		field    string
		parts    map[string][]byte
		wantCode int
	}{
		{"ok", "file", map[string][]byte{"a.png": []byte("png")}, 0},
		{"empty file", "file", map[string][]byte{"a.png": nil}, 4300},
		{"no file part", "other", map[string][]byte{"a.png": []byte("x")}, 4300},
		{"two files", "file", map[string][]byte{"a.png": []byte("x"), "b.png": []byte("y")}, 4301},
		{"too big", "file", map[string][]byte{"a.png": []byte(strings.Repeat("x", 2000))}, 4302},
		{"bad extension", "file", map[string][]byte{"a.exe": []byte("MZ")}, 4303},
		{"no extension", "file", map[string][]byte{"README": []byte("x")}, 4303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, tok := alanEnv(t, Options{MaxUploadBytes: 1000})
			m, b := e.upload(t, tok, tt.field, tt.parts)
			if code(m) != tt.wantCode {
				t.Errorf("code %d, want %d: %s", code(m), tt.wantCode, b)
			}
		})
	}
	t.Run("not multipart", func(t *testing.T) {
		e, tok := alanEnv(t, Options{})
		if m := e.api(t, http.MethodPost, "/v1/files/upload", tok, map[string]any{"file": "x"}); code(m) != 4300 {
			t.Errorf("code %d", code(m))
		}
	})
}

func TestMultimodal(t *testing.T) {
	e := mustEnv(t, Options{})
	alan, _ := e.sim.IssueToken(UserAlan)
	bea, _ := e.sim.IssueToken(UserBea)
	up, _ := e.upload(t, alan, "file", map[string][]byte{"hoodie.jpg": []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00 jpeg")}) // sniffed as an image
	fileID := str(dataMap(up), "id")
	obj := func(items ...map[string]any) string {
		b, _ := json.Marshal(items)
		return string(b)
	}
	text := map[string]any{"type": "text", "text": "好看吗？"}
	img := map[string]any{"type": "image", "file_id": fileID}
	tests := []struct {
		name     string
		token    string
		content  string
		wantCode int
	}{
		{"text + own image", alan, obj(text, img), 0},
		{"image url only", alan, obj(map[string]any{"type": "image", "file_url": "https://example.com/a.png"}), 0},
		{"text only", alan, obj(text), 4000},
		{"two texts", alan, obj(text, text, img), 4000},
		{"someone else's file", bea, obj(text, img), 4000},
		{"not JSON", alan, "[{", 4000},
		{"raw array would be a string", alan, "", 4000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"bot_id": BotAssistant, "user_id": "u", "stream": true,
				"additional_messages": []any{map[string]any{"role": "user", "content": tt.content, "content_type": "object_string"}}}
			_, h, b := e.do(t, http.MethodPost, "/v3/chat", tt.token, body)
			got := 0
			if strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				var m map[string]any
				_ = json.Unmarshal(b, &m)
				got = code(m)
			}
			if got != tt.wantCode {
				t.Errorf("code %d, want %d: %.300s", got, tt.wantCode, b)
			}
			if tt.wantCode == 0 && tt.name == "text + own image" && !strings.Contains(string(b), "hoodie.jpg") {
				t.Errorf("answer does not mention the attachment")
			}
		})
	}
}

func TestConversationOwnership(t *testing.T) {
	e := mustEnv(t, Options{})
	alan, _ := e.sim.IssueToken(UserAlan)
	bea, _ := e.sim.IssueToken(UserBea)
	convID := e.sim.NewConversation(UserAlan, BotAssistant)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"DELETE", "/v1/conversations/" + convID, nil},
		{"POST", "/v3/chat?conversation_id=" + convID, chatBodyFor(BotAssistant, "x", false)},
	} {
		if m := e.api(t, c.method, c.path, bea, c.body); code(m) != 4002 {
			t.Errorf("Bea %s %s: code %v", c.method, c.path, m["code"])
		}
	}
	if e.sim.ConversationCount(UserAlan) != 1 {
		t.Errorf("count %d", e.sim.ConversationCount(UserAlan))
	}
	e.mustOK(t, http.MethodDelete, "/v1/conversations/"+convID, alan, nil)
	if m := e.api(t, http.MethodDelete, "/v1/conversations/"+convID, alan, nil); code(m) != 4002 || e.sim.ConversationCount(UserAlan) != 0 {
		t.Errorf("after delete: %v", m["code"])
	}
}

func TestWorkspaceScopedToken(t *testing.T) {
	e := oauthEnv(t, Options{})
	app := DefaultApp()
	cb, err := Consent(t.Context(), e.hc, e.base()+"/api/permission/oauth2/workspace_id/"+WorkspaceTeam+"/authorize?response_type=code&client_id="+app.ClientID+"&redirect_uri="+app.RedirectURIs[0]+"&state=s", UserBea, "approve")
	if err != nil {
		t.Fatal(err)
	}
	tok := e.exchange(t, app, between(cb+"&", "code=", "&"), app.RedirectURIs[0], "")
	if m := e.api(t, http.MethodPost, "/v3/chat", tok.Access, chatBodyFor(BotAssistant, "x", false)); code(m) != 4101 {
		t.Errorf("chat with a workspace token: %v", m["code"])
	}
	ws := dataMap(e.mustOK(t, http.MethodGet, "/v1/workspaces", tok.Access, nil))
	if ws["total_count"].(float64) != 1 {
		t.Errorf("workspaces %v", ws)
	}
	e.mustOK(t, http.MethodGet, "/v1/bots?workspace_id="+WorkspaceTeam, tok.Access, nil)
}

func TestWorkflows(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	run := func(body map[string]any) map[string]any {
		return e.api(t, http.MethodPost, "/v1/workflow/run", tok, body)
	}
	if m := run(map[string]any{"workflow_id": WorkflowDraft}); code(m) != 4200 {
		t.Errorf("draft: %v", m["code"])
	}
	if m := run(map[string]any{"workflow_id": "7000000000000000001"}); code(m) != 4200 {
		t.Errorf("unknown: %v", m["code"])
	}
	if m := run(map[string]any{"workflow_id": WorkflowWeather}); code(m) != 4000 {
		t.Errorf("missing city: %v", m["code"])
	}
	m := run(map[string]any{"workflow_id": WorkflowWeather, "parameters": map[string]any{"city": "上海", "date": "2026-12-01"}})
	data, isStr := m["data"].(string)
	if code(m) != 0 || !isStr || !strings.Contains(data, "上海") || str(m, "debug_url") == "" {
		t.Fatalf("run: %v", m)
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(data), &out); err != nil || !strings.Contains(out["output"], "2026-12-01") {
		t.Errorf("data %q", data)
	}
	// Interrupt, then resume.
	_, b := e.stream(t, "/v1/workflow/stream_run", tok, map[string]any{"workflow_id": WorkflowAsk})
	evs := readSSE(t, b, true)
	last := evs[len(evs)-1]
	if last.Name != "Interrupt" {
		t.Fatalf("last event %s", last.Name)
	}
	eventID := between(last.Data, `"event_id":"`, `"`)
	resume := map[string]any{"workflow_id": WorkflowAsk, "event_id": eventID, "interrupt_type": 2, "resume_data": "杭州，2024-08-20"}
	_, b = e.stream(t, "/v1/workflow/stream_resume", tok, resume)
	evs = readSSE(t, b, true)
	if evs[0].ID != "0" || evs[len(evs)-1].Name != "Done" || !strings.Contains(string(b), "杭州") {
		t.Errorf("resume: %s", b)
	}
	if m := e.api(t, http.MethodPost, "/v1/workflow/stream_resume", tok, resume); code(m) != 4315 {
		t.Errorf("resume after end: %v", m["code"])
	}
	resume["event_id"] = "1/2"
	if m := e.api(t, http.MethodPost, "/v1/workflow/stream_resume", tok, resume); code(m) != 4314 {
		t.Errorf("unknown event: %v", m["code"])
	}
	// Info and list.
	info := dataMap(e.mustOK(t, http.MethodGet, "/v1/workflows/"+WorkflowWeather+"?include_input_output=true", tok, nil))
	params := info["input"].(map[string]any)["parameters"].(map[string]any)
	if params["city"].(map[string]any)["required"] != true || params["date"].(map[string]any)["required"] != false {
		t.Errorf("params %v", params)
	}
	if _, has := dataMap(e.mustOK(t, http.MethodGet, "/v1/workflows/"+WorkflowWeather, tok, nil))["input"]; has {
		t.Errorf("input without include_input_output")
	}
	list := dataMap(e.mustOK(t, http.MethodGet, "/v1/workflows?workspace_id="+WorkspaceTeam+"&page_num=1&page_size=2", tok, nil))
	if len(list["items"].([]any)) != 2 || list["has_more"] != true {
		t.Errorf("list %v", list)
	}
	if m := e.api(t, http.MethodGet, "/v1/workflows?workspace_id="+WorkspaceTeam, tok, nil); code(m) != 4000 {
		t.Errorf("list without page_num: %v", m["code"])
	}
}
