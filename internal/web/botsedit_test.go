package web

import (
	"net/http"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

type draftBot struct {
	ID, Name, Description, Prompt, Prologue string
	IconURL                                 string   `json:"icon_url"`
	ModelID                                 string   `json:"model_id"`
	SuggestedQuestions                      []string `json:"suggested_questions"`
	Published                               bool
}

// A builder creates a bot with an icon, edits it, publishes it and chats
// with it: the draft is listed as unpublished, chatting before publishing
// answers bot_not_published (4015), publishing returns Coze's version, and
// the same chat then streams a reply (issue 12).
func TestBotsEdit_CreateEditPublishChat(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserBea)
	ct, body := multipartBody(t, "file", "icon.png", pngBytes)
	up := e.send(c, req{method: "POST", path: "/api/files", ctype: ct, body: body, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
	mustStatus(t, "upload icon", up, http.StatusOK)
	icon := decode[struct{ ID string }](t, up).ID

	// Without model_id the default model goes to Coze, which refuses a create
	// without one (coze-py issue #211).
	r := e.api(c, "POST", "/api/bots", map[string]any{"workspace_id": cozesim.WorkspaceTeam, "name": "Chef",
		"description": "cooks", "prompt": "You cook.", "prologue": "Hungry?", "suggested_questions": []string{"Soup?"}, "icon_file_id": icon})
	mustStatus(t, "create", r, http.StatusCreated)
	bot := decode[struct{ Bot draftBot }](t, r).Bot
	if bot.ID == "" || bot.Name != "Chef" || bot.Prologue != "Hungry?" || bot.ModelID != defaultBotModelID || bot.IconURL == "" || bot.Published {
		t.Fatalf("created = %+v, want Chef, its prologue, the default model, an icon, unpublished", bot)
	}
	list := decode[struct{ Bots []botJSON }](t, e.get(c, "/api/bots?workspace_id="+cozesim.WorkspaceTeam)).Bots
	found := false
	for _, b := range list {
		if b.ID == bot.ID {
			found = true
			if b.Published || b.OwnerUserID != cozesim.UserBea {
				t.Errorf("listed = %+v, want a draft owned by Bea", b)
			}
		}
	}
	if !found {
		t.Errorf("the new draft is not listed")
	}
	if r := e.api(c, "POST", "/api/chat", map[string]any{"bot_id": bot.ID, "message": "hi"}); r.status != 409 || r.errorCode() != "bot_not_published" {
		t.Errorf("chat with the draft: %d %s, want 409 bot_not_published", r.status, r.body)
	}

	// Changing only the prologue keeps the suggested questions.
	r = e.api(c, "PATCH", "/api/bots/"+bot.ID, map[string]any{"name": "Chef 2", "prologue": "Hi cook"})
	mustStatus(t, "update", r, http.StatusOK)
	if b := decode[struct{ Bot draftBot }](t, r).Bot; b.Name != "Chef 2" || b.Prologue != "Hi cook" || len(b.SuggestedQuestions) != 1 {
		t.Errorf("updated = %+v, want Chef 2, Hi cook, the question kept", b)
	}
	if b := decode[struct{ Bot draftBot }](t, e.get(c, "/api/bots/"+bot.ID+"/draft")).Bot; b.Prompt != "You cook." || b.Name != "Chef 2" {
		t.Errorf("draft = %+v, want the prompt and the new name", b)
	}

	r = e.api(c, "POST", "/api/bots/"+bot.ID+"/publish", map[string]any{})
	mustStatus(t, "publish", r, http.StatusOK)
	if p := decode[struct {
		Version   string
		Published bool
	}](t, r); p.Version == "" || !p.Published {
		t.Errorf("publish = %s, want a version", r.body)
	}
	if res := mustChat(t, e, c, bot.ID, "hi", ""); res.Answer == "" {
		t.Errorf("chat after publish: empty answer")
	}
}

// Refusals: a member may not edit or publish the owner's bot (Coze 4101,
// said as who may); a model Coze refuses is named; bad fields never reach
// Coze; Coze's quota errors keep their plain words.
func TestBotsEdit_Refusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	bea := signIn(t, e, cozesim.UserBea)
	tests := []struct {
		name         string
		method, path string
		body         map[string]any
		fault        *cozesim.Fault
		wantStatus   int
		wantCode     string
	}{
		{"member edits the owner's bot", "PATCH", "/api/bots/" + cozesim.BotAssistant, map[string]any{"name": "mine"}, nil, 403, "bot_edit_denied"},
		{"member publishes the owner's bot", "POST", "/api/bots/" + cozesim.BotDraft + "/publish", map[string]any{}, nil, 403, "bot_edit_denied"},
		{"model Coze refuses", "POST", "/api/bots", map[string]any{"workspace_id": cozesim.WorkspaceBea, "name": "x", "model_id": "42"},
			&cozesim.Fault{Endpoint: "POST /v1/bot/create", Code: 4000, Msg: "Request parameter error: model_id 42 not found", Times: 1}, 400, "bot_model_refused"},
		{"quota", "POST", "/api/bots", map[string]any{"workspace_id": cozesim.WorkspaceBea, "name": "x"},
			&cozesim.Fault{Endpoint: "POST /v1/bot/create", Code: 4011, Msg: "insufficient balance", Times: 1}, 429, "quota_exceeded"},
		{"name too long", "POST", "/api/bots", map[string]any{"workspace_id": cozesim.WorkspaceBea, "name": "123456789012345678901"}, nil, 400, "bad_request"},
		{"no workspace", "POST", "/api/bots", map[string]any{"name": "x"}, nil, 400, "bad_request"},
		{"eleven questions", "PATCH", "/api/bots/" + cozesim.BotDraft, map[string]any{"suggested_questions": make([]string, 11)}, nil, 400, "bad_request"},
		{"nothing to change", "PATCH", "/api/bots/" + cozesim.BotDraft, map[string]any{}, nil, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				e.sim.AddFault(*tt.fault)
			}
			r := e.api(bea, tt.method, tt.path, tt.body)
			if r.status != tt.wantStatus || r.errorCode() != tt.wantCode {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus == 403 && r.errorBody()["hint"] == "" {
				t.Errorf("no hint on what to do: %s", r.body)
			}
		})
	}
	if n := e.sim.Calls("POST /v1/bot/update"); n != 1 {
		t.Errorf("Coze updates = %d, want only the refused one", n)
	}
}
