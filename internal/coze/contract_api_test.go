package coze_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

func TestContractAccountAndBots(t *testing.T) {
	e := mustSim(t, cozesim.Options{})
	c, tok, ctx := e.web, e.token(cozesim.UserAlan), runCtx(t)

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
	pub, err := c.PublishedBots(ctx, tok, cozesim.WorkspaceTeam, 1, 20)
	if err != nil || len(pub.SpaceBots) == 0 || pub.SpaceBots[0].PublishTime == 0 ||
		slices.ContainsFunc(pub.SpaceBots, func(b coze.PublishedBot) bool { return b.BotID == cozesim.BotDraft }) {
		t.Fatalf("PublishedBots = %+v, %v", pub, err)
	}
	info, err := c.Bot(ctx, tok, cozesim.BotAssistant, false)
	if err != nil || info.BotID != cozesim.BotAssistant || info.Onboarding.Prologue == "" || len(info.Onboarding.SuggestedQuestions) == 0 {
		t.Fatalf("Bot = %+v, %v", info, err)
	}
	old, err := c.BotOnlineInfo(ctx, tok, cozesim.BotAssistant)
	if err != nil || old.Name != info.Name {
		t.Fatalf("BotOnlineInfo = %+v, %v", old, err)
	}
	if _, err := c.Bot(ctx, tok, cozesim.BotDraft, true); err != nil {
		t.Errorf("draft Bot: %v", err)
	}
	if _, err := c.BotOnlineInfo(ctx, tok, cozesim.BotDraft); err == nil {
		t.Error("BotOnlineInfo(draft) succeeded; the old endpoint only sees published bots")
	}
	if _, err := c.Bot(ctx, tok, "7394999999999999999", false); !coze.IsNotFound(err) && !coze.IsPermissionDenied(err) {
		t.Errorf("unknown bot err = %v, want not found", err)
	}
}

func hasBot(bots []coze.Bot, id string) bool {
	return slices.ContainsFunc(bots, func(b coze.Bot) bool { return b.ID == id })
}

func TestContractCreateUpdatePublishBot(t *testing.T) {
	e := mustSim(t, cozesim.Options{})
	c, tok, ctx := e.web, e.token(cozesim.UserAlan), runCtx(t)
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
	e := mustSim(t, cozesim.Options{})
	c, tok, ctx := e.web, e.token(cozesim.UserAlan), runCtx(t)
	f, err := c.UploadFile(ctx, tok, "报告 \"q\".pdf", strings.NewReader("%PDF-1.4 hello"))
	if err != nil || f.ID == "" || f.Bytes != 14 || f.FileName != "报告 \"q\".pdf" || f.CreatedAt == 0 {
		t.Fatalf("UploadFile = %+v, %v", f, err)
	}
	got, err := c.RetrieveFile(ctx, tok, f.ID)
	if err != nil || got != f {
		t.Fatalf("RetrieveFile = %+v, %v; want %+v", got, err, f)
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
	if _, err := c.RetrieveFile(ctx, e.token(cozesim.UserBea), f.ID); err == nil {
		t.Error("another user's file was readable")
	}
}

func TestContractConversationsAndMessages(t *testing.T) {
	e := mustSim(t, cozesim.Options{})
	c, tok, ctx := e.web, e.token(cozesim.UserAlan), runCtx(t)
	conv, err := c.CreateConversation(ctx, tok, coze.CreateConversationRequest{BotID: cozesim.BotAssistant, Name: "Trip",
		MetaData: map[string]string{"k": "v"}, Messages: []coze.EnterMessage{
			{Role: "user", Type: "question", Content: "first", ContentType: "text"},
			{Role: "assistant", Type: "answer", Content: "reply", ContentType: "text"}}})
	if err != nil || conv.ID == "" || conv.MetaData["k"] != "v" || conv.CreatedAt == 0 || conv.LastSectionID == "" {
		t.Fatalf("CreateConversation = %+v, %v", conv, err)
	}
	if got, err := c.RetrieveConversation(ctx, tok, conv.ID); err != nil || got.ID != conv.ID || got.Name != "Trip" {
		t.Fatalf("RetrieveConversation = %+v, %v", got, err)
	}
	list, err := c.ListConversations(ctx, tok, coze.ListConversationsParams{BotID: cozesim.BotAssistant, PageNum: 1, PageSize: 50})
	if err != nil || !slices.ContainsFunc(list.Conversations, func(x coze.Conversation) bool { return x.ID == conv.ID }) {
		t.Fatalf("ListConversations = %+v, %v", list, err)
	}
	if got, err := c.RenameConversation(ctx, tok, conv.ID, "Trip 2"); err != nil || got.Name != "Trip 2" {
		t.Fatalf("RenameConversation = %+v, %v", got, err)
	}
	m, err := c.CreateMessage(ctx, tok, conv.ID, coze.EnterMessage{Role: "user", Content: "third", ContentType: "text", MetaData: map[string]string{"src": "t"}})
	if err != nil || m.ID == "" || m.ConversationID != conv.ID || m.Content != "third" || m.MetaData["src"] != "t" {
		t.Fatalf("CreateMessage = %+v, %v", m, err)
	}
	if got, err := c.RetrieveMessage(ctx, tok, conv.ID, m.ID); err != nil || got.Content != "third" {
		t.Fatalf("RetrieveMessage = %+v, %v", got, err)
	}
	if got, err := c.ModifyMessage(ctx, tok, conv.ID, m.ID, coze.EnterMessage{Content: "third!", ContentType: "text"}); err != nil || got.ID != m.ID || got.Content != "third!" {
		t.Fatalf("ModifyMessage = %+v, %v", got, err)
	}
	// Page forward with after_id = last_id until has_more is false (§19 Q8).
	var seen []string
	p := coze.ListMessagesParams{Order: "asc", Limit: 1}
	for range 10 {
		page, err := c.ListMessages(ctx, tok, conv.ID, p)
		if err != nil {
			t.Fatalf("ListMessages: %v", err)
		}
		for _, x := range page.Messages {
			seen = append(seen, x.Content)
		}
		if !page.HasMore {
			break
		}
		if page.FirstID == "" || page.LastID == "" {
			t.Fatalf("paging ids missing: %+v", page)
		}
		p.AfterID = page.LastID
	}
	if want := []string{"first", "reply", "third!"}; !slices.Equal(seen, want) {
		t.Errorf("paged messages = %v, want %v", seen, want)
	}
	if got, err := c.DeleteMessage(ctx, tok, conv.ID, m.ID); err != nil || got.ID != m.ID {
		t.Fatalf("DeleteMessage = %+v, %v", got, err)
	}
	section, err := c.ClearConversation(ctx, tok, conv.ID)
	if err != nil || section == "" || section == conv.LastSectionID {
		t.Fatalf("ClearConversation = %q, %v", section, err)
	}
	if _, err := c.RetrieveConversation(ctx, e.token(cozesim.UserBea), conv.ID); err == nil {
		t.Error("another user's conversation was readable")
	}
	if err := c.DeleteConversation(ctx, tok, conv.ID); err != nil {
		t.Fatalf("DeleteConversation: %v", err)
	}
	if _, err := c.RetrieveConversation(ctx, tok, conv.ID); !coze.IsNotFound(err) {
		t.Errorf("deleted conversation err = %v, want not found", err)
	}
}
