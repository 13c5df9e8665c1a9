package coze_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

func TestContractAccountAndBots(t *testing.T) {
	_, c, tok, ctx := signedIn(t, cozesim.Options{})

	me, err := c.Me(ctx, tok)
	if err != nil || me.UserID != cozesim.UserAlan || me.NickName != "Alan" {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	page, err := c.Workspaces(ctx, tok, 1, 1)
	if err != nil || len(page.Workspaces) != 1 || page.TotalCount < 2 {
		t.Fatalf("Workspaces page = %+v, %v", page, err)
	}
	all, err := c.AllWorkspaces(ctx, tok)
	if err != nil || len(all) != page.TotalCount || !slices.ContainsFunc(all, func(w coze.Workspace) bool { return w.ID == cozesim.WorkspaceTeam }) {
		t.Fatalf("AllWorkspaces = %+v, %v", all, err)
	}
	bots, err := c.AllBots(ctx, tok, cozesim.WorkspaceTeam, "all")
	if err != nil || !hasBot(bots, cozesim.BotDraft) || !hasBot(bots, cozesim.BotAssistant) {
		t.Fatalf("AllBots(all) = %+v, %v", bots, err)
	}
	online, err := c.Bots(ctx, tok, coze.BotListParams{WorkspaceID: cozesim.WorkspaceTeam, PageNum: 1, PageSize: 20})
	if err != nil || hasBot(online.Items, cozesim.BotDraft) || !hasBot(online.Items, cozesim.BotAssistant) || online.Total != len(online.Items) {
		t.Fatalf("Bots(default) = %+v, %v", online, err)
	}
	info, err := c.Bot(ctx, tok, cozesim.BotAssistant, false)
	if err != nil || info.BotID != cozesim.BotAssistant || info.Onboarding.Prologue == "" || len(info.Onboarding.SuggestedQuestions) == 0 {
		t.Fatalf("Bot = %+v, %v", info, err)
	}
	if _, err := c.Bot(ctx, tok, cozesim.BotDraft, true); err != nil {
		t.Errorf("draft Bot: %v", err)
	}
	if _, err := c.Bot(ctx, tok, "7394999999999999999", false); !coze.IsNotFound(err) && !coze.IsPermissionDenied(err) {
		t.Errorf("unknown bot err = %v, want not found", err)
	}
}

func hasBot(bots []coze.Bot, id string) bool {
	return slices.ContainsFunc(bots, func(b coze.Bot) bool { return b.ID == id })
}

func TestContractCreateUpdatePublishBot(t *testing.T) {
	_, c, tok, ctx := signedIn(t, cozesim.Options{})
	icon, err := c.UploadFile(ctx, tok, "icon.png", strings.NewReader("\x89PNG\r\n\x1a\nfake"))
	if err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	id, err := c.CreateBot(ctx, tok, coze.CreateBotRequest{SpaceID: cozesim.WorkspaceAlan, Name: "Chef", Description: "cooks",
		IconFileID: icon.ID, Prompt: "You cook.", Onboarding: &coze.Onboarding{Prologue: "Hi", SuggestedQuestions: []string{"Soup?"}}})
	if err != nil || len(id) < 10 {
		t.Fatalf("CreateBot = %q, %v", id, err)
	}
	name := "Chef 2"
	if err := c.UpdateBot(ctx, tok, coze.UpdateBotRequest{BotID: id, Name: &name}); err != nil {
		t.Fatalf("UpdateBot: %v", err)
	}
	draft, err := c.Bot(ctx, tok, id, true)
	if err != nil || draft.Name != name || draft.Prompt != "You cook." || draft.Onboarding.Prologue != "Hi" {
		t.Fatalf("draft = %+v, %v", draft, err)
	}
	req := coze.ChatRequest{BotID: id, UserID: "u1", AdditionalMessages: []coze.EnterMessage{{Role: "user", Content: "hello", ContentType: "text"}}}
	if _, err := c.StreamChat(ctx, tok, req); !coze.IsNotPublished(err) {
		t.Fatalf("chat with draft err = %v, want 4015", err)
	}
	req.PublishStatus = "unpublished_draft"
	if names := streamNames(t, c, tok, req); names[len(names)-1] != coze.EventDone {
		t.Errorf("draft chat events = %v", names)
	}
	req.PublishStatus = ""
	version, err := c.PublishBot(ctx, tok, id, nil)
	if err != nil || version == "" {
		t.Fatalf("PublishBot = %q, %v", version, err)
	}
	if names := streamNames(t, c, tok, req); names[len(names)-1] != coze.EventDone {
		t.Errorf("published chat events = %v", names)
	}
}

func TestContractFiles(t *testing.T) {
	_, c, tok, ctx := signedIn(t, cozesim.Options{})
	f, err := c.UploadFile(ctx, tok, "报告 \"q\".pdf", strings.NewReader("%PDF-1.4 hello"))
	if err != nil || f.ID == "" || f.Bytes != 14 || f.FileName != "报告 \"q\".pdf" || f.CreatedAt == 0 {
		t.Fatalf("UploadFile = %+v, %v", f, err)
	}
	tests := []struct {
		name, file, body string
		wantCode         int
	}{
		{"empty file", "a.png", "", 4300},
		{"bad type", "a.exe", "MZ", 4303},
	}
	for _, tt := range tests {
		_, err := c.UploadFile(ctx, tok, tt.file, strings.NewReader(tt.body))
		if code := apiCode(err); code != tt.wantCode {
			t.Errorf("%s: err = %v, want code %d", tt.name, err, tt.wantCode)
		}
	}
}

// The app deletes a conversation's Coze copy when the user deletes it: only
// its owner may, and once gone it stays gone.
func TestContractDeleteConversation(t *testing.T) {
	e, c, tok, ctx := signedIn(t, cozesim.Options{})
	s, err := c.StreamChat(ctx, tok, coze.ChatRequest{BotID: cozesim.BotAssistant, UserID: "u", AdditionalMessages: userMsg("hello")})
	evs, _ := streamEvents(t, s, err)
	chat, _ := answerText(t, evs)
	if chat.ConversationID == "" {
		t.Fatalf("no conversation id in %v", names(evs))
	}
	if err := c.DeleteConversation(ctx, e.token(cozesim.UserBea), chat.ConversationID); err == nil {
		t.Error("another user deleted the conversation")
	}
	if err := c.DeleteConversation(ctx, tok, chat.ConversationID); err != nil {
		t.Fatalf("DeleteConversation: %v", err)
	}
	if err := c.DeleteConversation(ctx, tok, chat.ConversationID); !coze.IsNotFound(err) {
		t.Errorf("second delete err = %v, want not found", err)
	}
}

// A workflow question's options come as a card only when the chat asks for
// cards (coze-protocol §15.1 enable_card; coze-go chats.go
// CreateChatsReq.EnableCard); the simulator, like Coze, sends plain text
// otherwise.
func TestContractEnableCardAsksForTheQuestionCard(t *testing.T) {
	_, c, tok, ctx := signedIn(t, cozesim.Options{})
	for _, enable := range []bool{false, true} {
		s, err := c.StreamChat(ctx, tok, coze.ChatRequest{BotID: cozesim.BotQuestion, UserID: "u1",
			AdditionalMessages: userMsg("I am thirsty"), EnableCard: enable})
		evs, _ := streamEvents(t, s, err)
		cards := 0
		for _, ev := range evs {
			if ev.Name != coze.EventMessageCompleted {
				continue
			}
			if m, err := ev.Message(); err == nil && m.Type == "answer" && m.ContentType == "card" {
				cards++
			}
		}
		if want := map[bool]int{false: 0, true: 1}[enable]; cards != want {
			t.Errorf("EnableCard %v: %d card answers, want %d", enable, cards, want)
		}
		if last := names(evs)[len(evs)-2]; last != coze.EventChatRequiresAction {
			t.Errorf("EnableCard %v: ends with %s, want the question's requires_action", enable, last)
		}
	}
}

// Against a Coze that reads only page_index (as coze-py's _list_v2 assumes),
// AllBots still lists every bot once: the client sends page_num and
// page_index (coze-protocol E3).
func TestContractAllBotsPagesWithPageIndex(t *testing.T) {
	_, c, tok, ctx := signedIn(t, cozesim.Options{BotListPageIndexOnly: true})
	before, err := c.AllBots(ctx, tok, cozesim.WorkspaceAlan, "all")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		if _, err := c.CreateBot(ctx, tok, coze.CreateBotRequest{SpaceID: cozesim.WorkspaceAlan, Name: fmt.Sprint("paging ", i)}); err != nil {
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
