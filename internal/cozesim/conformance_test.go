package cozesim

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"
)

// upload posts files as multipart parts named field.
func (e *env) upload(tb testing.TB, token, field string, parts map[string][]byte) (map[string]any, []byte) {
	tb.Helper()
	_, m, b := e.uploadFramed(tb, token, field, parts, false)
	return m, b
}

// uploadFramed is upload that returns the status and, when chunked, hides the body's
// length behind an io.MultiReader so that the client sends it chunked.
func (e *env) uploadFramed(tb testing.TB, token, field string, parts map[string][]byte, chunked bool) (int, map[string]any, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, content := range parts {
		fw, err := mw.CreateFormFile(field, name)
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = fw.Write(content)
	}
	_ = mw.Close()
	var rd io.Reader = &buf
	if chunked {
		rd = io.MultiReader(&buf)
	}
	req, _ := http.NewRequestWithContext(tb.Context(), http.MethodPost, e.base()+"/v1/files/upload", rd)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("upload body %s", b)
	}
	return resp.StatusCode, m, b
}

func body(tb testing.TB, e *env, method, path, token string, in any) []byte {
	tb.Helper()
	_, _, b := e.do(tb, method, path, token, in)
	return b
}

func TestFixturesJSON(t *testing.T) {
	e, tok := alanEnv(t, Options{ChatDelay: time.Minute})
	// Shared setup: a conversation (made by its first chat) with one completed chat, a file.
	chat := dataMap(e.mustOK(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(BotAssistant, "hi", false)))
	convID, chatID := str(chat, "conversation_id"), str(chat, "id")
	e.clock.Advance(time.Minute)
	_, upBody := e.upload(t, tok, "file", map[string][]byte{"1120.jpeg": []byte("jpegdata")})
	var up map[string]any
	_ = json.Unmarshal(upBody, &up)
	fileID := str(dataMap(up), "id")
	q := "?conversation_id=" + convID

	// A running chat to cancel.
	running := dataMap(e.mustOK(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(BotAssistant, "x", false)))
	conv2, chat2 := str(running, "conversation_id"), str(running, "id")
	newBot := ""

	tests := []struct {
		fixture string
		get     func() []byte
	}{
		{"users_me_response.json", func() []byte { return body(t, e, "GET", "/v1/users/me", tok, nil) }},
		{"workspaces_list_response.json", func() []byte { return body(t, e, "GET", "/v1/workspaces", tok, nil) }},
		{"bots_list_response.json", func() []byte {
			return body(t, e, "GET", "/v1/bots?workspace_id="+WorkspaceTeam+"&publish_status=all", tok, nil)
		}},
		{"bot_retrieve_response_canonical.json", func() []byte { return body(t, e, "GET", "/v1/bots/"+BotAssistant, tok, nil) }},
		{"bot_create_response.json", func() []byte {
			req := mustFixture(t, "bot_create_request.json").(map[string]any)
			req["space_id"], req["icon_file_id"] = WorkspaceAlan, fileID
			b := body(t, e, "POST", "/v1/bot/create", tok, req)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			newBot = str(dataMap(m), "bot_id")
			return b
		}},
		{"bot_update_response.json", func() []byte {
			req := mustFixture(t, "bot_update_request.json").(map[string]any)
			req["bot_id"] = newBot
			return body(t, e, "POST", "/v1/bot/update", tok, req)
		}},
		{"bot_publish_response.json", func() []byte {
			return body(t, e, "POST", "/v1/bot/publish", tok, map[string]any{"bot_id": newBot, "connector_ids": []string{"1024"}})
		}},
		{"file_upload_response.json", func() []byte { return upBody }},
		{"chat_create_response.json", func() []byte {
			return body(t, e, "POST", "/v3/chat", tok, chatBodyFor(BotAssistant, "x", false))
		}},
		{"chat_retrieve_response_completed.json", func() []byte {
			return body(t, e, "GET", "/v3/chat/retrieve"+q+"&chat_id="+chatID, tok, nil)
		}},
		{"chat_messages_list_response.json", func() []byte {
			return body(t, e, "GET", "/v3/chat/message/list"+q+"&chat_id="+chatID, tok, nil)
		}},
		{"chat_cancel_response.json", func() []byte {
			return body(t, e, "POST", "/v3/chat/cancel", tok, map[string]any{"chat_id": chat2, "conversation_id": conv2})
		}},
		{"error_4104_cannot_cancel.json", func() []byte {
			return body(t, e, "POST", "/v3/chat/cancel", tok, map[string]any{"chat_id": chat2, "conversation_id": conv2})
		}},
		{"error_4015_bot_not_published.json", func() []byte {
			return body(t, e, "POST", "/v3/chat", tok, chatBodyFor(BotDraft, "x", true))
		}},
		{"error_4000_bad_request.json", func() []byte {
			return body(t, e, "POST", "/v3/chat", tok, map[string]any{"user_id": "u"})
		}},
		{"error_4100_authentication_invalid.json", func() []byte { return body(t, e, "GET", "/v1/users/me", "bogus", nil) }},
		{"conversation_delete_response.json", func() []byte { return body(t, e, "DELETE", "/v1/conversations/"+convID, tok, nil) }},
		{"workflows_list_response.json", func() []byte {
			return body(t, e, "GET", "/v1/workflows?workspace_id="+WorkspaceTeam+"&page_num=1", tok, nil)
		}},
		{"workflow_info_response.json", func() []byte {
			return body(t, e, "GET", "/v1/workflows/"+WorkflowWeather+"?include_input_output=true", tok, nil)
		}},
		{"workflow_run_response.json", func() []byte {
			return body(t, e, "POST", "/v1/workflow/run", tok, map[string]any{"workflow_id": WorkflowWeather, "parameters": map[string]any{"city": "北京"}})
		}},
		{"workflow_run_async_response.json", func() []byte {
			b := body(t, e, "POST", "/v1/workflow/run", tok, map[string]any{"workflow_id": WorkflowWeather, "parameters": `{"city":"杭州"}`, "is_async": true})
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			checkFixture(t, tt.fixture, tt.get())
		})
	}
}

func TestFixturesOAuth(t *testing.T) {
	e := oauthEnv(t, Options{})
	app := DefaultApp()
	code := e.mustCode(t, app, UserAlan, "")
	tok := e.exchange(t, app, code, app.RedirectURIs[0], "")
	checkFixture(t, "oauth_token_response.json", tok.raw)
	r := e.refreshCall(t, app, tok.Refresh)
	checkFixture(t, "oauth_token_refresh_response.json", r.raw)
	bad := e.refreshCall(t, app, tok.Refresh)
	checkFixture(t, "oauth_error_superset.json", bad.raw)
	e2 := mustEnv(t, Options{InvalidTokenCode: 700012006})
	checkFixture(t, "error_700012006_access_token_invalid.json", body(t, e2, "GET", "/v1/users/me", "x", nil))
}

func TestFixturesSSE(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		fault   *Fault
		path    string
		req     func(tok string) any
		keysOf  []string
	}{
		{"answer with follow-ups", "chat_stream_follow_up.sse", nil, "/v3/chat", func(string) any { return chatBodyFor(BotAssistant, "sports news", true) }, nil},
		{"requires action", "chat_stream_requires_action.sse", nil, "/v3/chat", func(string) any { return chatBodyFor(BotAssistant, "use the weather tool", true) }, []string{"done"}},
		{"error event", "chat_stream_error.sse", &Fault{Endpoint: "POST /v3/chat", ErrorAfterEvents: 2}, "/v3/chat", func(string) any { return chatBodyFor(BotAssistant, "x", true) }, []string{"error"}},
		{"workflow message", "workflow_stream_message.sse", nil, "/v1/workflow/stream_run", func(string) any {
			return map[string]any{"workflow_id": WorkflowJoke, "parameters": map[string]any{}}
		}, nil},
		{"workflow interrupt", "workflow_stream_interrupt.sse", nil, "/v1/workflow/stream_run", func(string) any {
			return map[string]any{"workflow_id": WorkflowAsk}
		}, nil},
		{"workflow error", "workflow_stream_error.sse", nil, "/v1/workflow/stream_run", func(string) any {
			return map[string]any{"workflow_id": WorkflowWeather, "parameters": map[string]any{"date": "2026-01-01"}}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustEnv(t, Options{})
			if tt.fault != nil {
				e.sim.AddFault(*tt.fault)
			}
			tok, _ := e.sim.IssueToken(UserAlan)
			_, b := e.stream(t, tt.path, tok, tt.req(tok))
			checkSSEFixture(t, tt.fixture, b, tt.keysOf)
		})
	}
}
