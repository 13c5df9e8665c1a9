package cozesim

import (
	"net/http"
	"testing"
)

// A new bot is a draft until published: chat refuses it (4015), publish
// returns a version, then chat answers (§11.5–§11.7).
func TestBotLifecycle_DraftUntilPublished(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, Options{})
	tok, _ := e.sim.IssueToken(UserBea)
	created := dataMap(e.mustOK(t, http.MethodPost, "/v1/bot/create", tok, map[string]any{
		"space_id": WorkspaceTeam, "name": "Chef", "model_info_config": map[string]any{"model_id": "1738675210"}}))
	id := str(created, "bot_id")
	if m := e.api(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(id, "hi", false)); code(m) != 4015 {
		t.Fatalf("chat with a new draft: code %d, want 4015", code(m))
	}
	e.mustOK(t, http.MethodPost, "/v1/bot/update", tok, map[string]any{"bot_id": id, "name": "Chef 2"})
	draft := dataMap(e.mustOK(t, http.MethodGet, "/v1/bots/"+id+"?is_published=false", tok, nil))
	if str(draft, "name") != "Chef 2" {
		t.Errorf("draft name = %q, want Chef 2", str(draft, "name"))
	}
	if mi, _ := draft["model_info"].(map[string]any); str(mi, "model_id") != "1738675210" {
		t.Errorf("draft model_info = %v, want the model it was created with", mi)
	}
	pub := dataMap(e.mustOK(t, http.MethodPost, "/v1/bot/publish", tok, map[string]any{"bot_id": id, "connector_ids": []string{"1024"}}))
	if str(pub, "version") == "" || str(pub, "bot_id") != id {
		t.Fatalf("publish data = %v, want bot_id and version", pub)
	}
	e.mustOK(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(id, "hi", false))
}

// Coze refuses a create without model information (coze-py issue #211), and
// a member may not change or publish a bot someone else created.
func TestBotEdit_Refusals(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, Options{})
	alan, _ := e.sim.IssueToken(UserAlan)
	bea, _ := e.sim.IssueToken(UserBea)
	tests := []struct {
		name, tok, path string
		body            map[string]any
		want            int
	}{
		{"create without model_info_config", alan, "/v1/bot/create", map[string]any{"space_id": WorkspaceAlan, "name": "x"}, 4000},
		{"create with an empty model id", alan, "/v1/bot/create", map[string]any{"space_id": WorkspaceAlan, "name": "x",
			"model_info_config": map[string]any{"model_id": ""}}, 4000},
		{"member updates the owner's bot", bea, "/v1/bot/update", map[string]any{"bot_id": BotAssistant, "name": "mine"}, 4101},
		{"member publishes the owner's bot", bea, "/v1/bot/publish", map[string]any{"bot_id": BotDraft, "connector_ids": []string{"1024"}}, 4101},
		{"owner updates a team bot", alan, "/v1/bot/update", map[string]any{"bot_id": BotDraft, "description": "still a draft"}, 0},
	}
	for _, tt := range tests {
		if m := e.api(t, http.MethodPost, tt.path, tt.tok, tt.body); code(m) != tt.want {
			t.Errorf("%s: code %d (%v), want %d", tt.name, code(m), m["msg"], tt.want)
		}
	}
}
