package coze_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Against a Coze that reads only page_index (as coze-py's _list_v2 assumes),
// AllBots still lists every bot once: the client sends page_num and
// page_index (coze-protocol E3).
func TestContractAllBotsPagesWithPageIndex(t *testing.T) {
	e := mustSim(t, cozesim.Options{BotListPageIndexOnly: true})
	c, tok, ctx := e.web, e.token(cozesim.UserAlan), runCtx(t)
	before, err := c.AllBots(ctx, tok, cozesim.WorkspaceAlan, "all")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		if _, err := c.CreateBot(ctx, tok, coze.CreateBotRequest{SpaceID: cozesim.WorkspaceAlan, Name: fmt.Sprint("paging ", i), ModelID: "1706077826"}); err != nil {
			t.Fatalf("CreateBot %d: %v", i, err)
		}
	}
	bots, err := c.AllBots(ctx, tok, cozesim.WorkspaceAlan, "all")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, b := range bots {
		ids[b.ID]++
	}
	if len(bots) != len(before)+25 || len(ids) != len(bots) {
		t.Errorf("AllBots = %d bots (%d distinct), want %d distinct", len(bots), len(ids), len(before)+25)
	}
}

// A chat's parameters go as a JSON object, or not at all; the simulator, like
// coze-studio, refuses a string (coze-protocol E5).
func TestContractChatParametersAreAnObject(t *testing.T) {
	e := mustSim(t, cozesim.Options{})
	c, tok := e.web, e.token(cozesim.UserAlan)
	msg := []coze.EnterMessage{{Role: "user", Type: "question", Content: "hi", ContentType: "text"}}
	lastChatBody := func() map[string]json.RawMessage {
		t.Helper()
		var body map[string]json.RawMessage
		reqs := e.sim.Requests()
		for i := len(reqs) - 1; i >= 0; i-- {
			if reqs[i].Method == http.MethodPost && reqs[i].Path == "/v3/chat" {
				if err := json.Unmarshal(reqs[i].Body, &body); err != nil {
					t.Fatal(err)
				}
				return body
			}
		}
		t.Fatal("no /v3/chat request")
		return nil
	}
	streamNames(t, c, tok, coze.ChatRequest{BotID: cozesim.BotAssistant, UserID: "u1", AdditionalMessages: msg,
		Parameters: map[string]any{"city": "Paris", "days": 3}})
	if p := lastChatBody()["parameters"]; len(p) == 0 || p[0] != '{' {
		t.Errorf("parameters = %s, want a JSON object", p)
	}
	streamNames(t, c, tok, coze.ChatRequest{BotID: cozesim.BotAssistant, UserID: "u1", AdditionalMessages: msg})
	if p, has := lastChatBody()["parameters"]; has {
		t.Errorf("parameters = %s without any, want the field omitted", p)
	}
}
