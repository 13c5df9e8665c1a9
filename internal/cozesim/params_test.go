package cozesim

import (
	"encoding/json"
	"net/http"
	"testing"
)

// POST /v3/chat refuses "parameters" given as a JSON string, as coze-studio
// does, and takes an object (coze-protocol E5).
func TestChatRefusesStringParameters(t *testing.T) {
	e := mustEnv(t, Options{})
	tok, _ := e.sim.IssueToken(UserAlan)
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
