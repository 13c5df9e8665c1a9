package coze_test

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

func userMsg(s string) []coze.EnterMessage {
	return []coze.EnterMessage{{Role: "user", Type: "question", Content: s, ContentType: "text"}}
}

func TestContractStreamChat(t *testing.T) {
	_, c, tok, ctx := signedIn(t, cozesim.Options{})
	s, err := c.StreamChat(ctx, tok, coze.ChatRequest{BotID: cozesim.BotAssistant, UserID: "u1", AdditionalMessages: userMsg("hello there")})
	evs, err := streamEvents(t, s, err)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("end = %v", err)
	}
	got := names(evs)
	if got[0] != coze.EventChatCreated || got[1] != coze.EventChatInProgress || got[len(got)-2] != coze.EventChatCompleted || got[len(got)-1] != coze.EventDone {
		t.Errorf("event order = %v", got)
	}
	if s.LogID() == "" {
		t.Error("no X-Tt-Logid on the stream")
	}
	chat, text := answerText(t, evs)
	if chat.Status != coze.ChatCompleted || chat.Usage == nil || chat.Usage.TokenCount == 0 || !strings.Contains(text, "hello there") {
		t.Errorf("chat = %+v, answer %q", chat, text)
	}
	// History is kept: the chat's messages and the conversation's list agree.
	msgs, err := c.ChatMessages(ctx, tok, chat.ConversationID, chat.ID)
	if err != nil || !slices.ContainsFunc(msgs, func(m coze.Message) bool { return m.Type == "answer" && m.Content == text }) {
		t.Errorf("ChatMessages = %+v, %v", msgs, err)
	}
	// A second turn in the same conversation (conversation_id in the query) is remembered.
	s, err = c.StreamChat(ctx, tok, coze.ChatRequest{BotID: cozesim.BotMemory, UserID: "u1", ConversationID: chat.ConversationID, AdditionalMessages: userMsg("second")})
	evs, _ = streamEvents(t, s, err)
	if _, text := answerText(t, evs); !strings.Contains(text, "hello there") {
		t.Errorf("memory answer = %q, want it to recall the first turn", text)
	}
}

func TestContractCancelAndBusy(t *testing.T) {
	e, c, tok, ctx := signedIn(t, cozesim.Options{})
	s, err := c.StreamChat(ctx, tok, coze.ChatRequest{BotID: cozesim.BotSlow, UserID: "u", AdditionalMessages: userMsg("story")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, err := s.Next()
	if err != nil || first.Name != coze.EventChatCreated {
		t.Fatalf("first event = %v, %v", first.Name, err)
	}
	chat, _ := first.Chat()
	// A second chat in a conversation whose reply is still running is refused.
	_, err = c.StreamChat(ctx, tok, coze.ChatRequest{BotID: cozesim.BotSlow, UserID: "u", ConversationID: chat.ConversationID, AdditionalMessages: userMsg("again")})
	if !coze.IsConversationBusy(err) {
		t.Errorf("second chat err = %v, want 4016", err)
	}
	got, err := c.CancelChat(ctx, tok, chat.ConversationID, chat.ID)
	if err != nil || got.Status != coze.ChatCanceled || got.ID != chat.ID {
		t.Fatalf("CancelChat = %+v, %v", got, err)
	}
	if st, _ := e.sim.ChatStatus(chat.ConversationID, chat.ID); st != coze.ChatCanceled {
		t.Errorf("sim status = %q", st)
	}
	if _, err := c.CancelChat(ctx, tok, chat.ConversationID, chat.ID); apiCode(err) != 4104 {
		t.Errorf("second cancel err = %v, want 4104", err)
	}
	s.Close()
	if got, err := c.RetrieveChat(ctx, tok, chat.ConversationID, chat.ID); err != nil || got.Status != coze.ChatCanceled {
		t.Errorf("retrieve after cancel = %+v, %v", got, err)
	}
}

// A local plugin call ends the stream with requires_action and its tool call
// (the app ends the reply there: it submits no tool outputs).
func TestContractLocalToolCallRequiresAction(t *testing.T) {
	_, c, tok, ctx := signedIn(t, cozesim.Options{})
	s, err := c.StreamChat(ctx, tok, coze.ChatRequest{BotID: cozesim.BotAssistant, UserID: "u", AdditionalMessages: userMsg("#tool city=Paris")})
	evs, _ := streamEvents(t, s, err)
	chat, _ := answerText(t, evs)
	calls := chat.ToolCalls()
	if chat.Status != coze.ChatRequiresAction || len(calls) != 1 || calls[0].Name != "local_weather" {
		t.Fatalf("requires_action chat = %+v calls %+v (events %v)", chat, calls, names(evs))
	}
}

func TestContractWorkflows(t *testing.T) {
	_, c, tok, ctx := signedIn(t, cozesim.Options{})
	page, err := c.ListWorkflows(ctx, tok, coze.ListWorkflowsParams{WorkspaceID: cozesim.WorkspaceTeam, PageSize: 30})
	if err != nil || !slices.ContainsFunc(page.Items, func(w coze.Workflow) bool { return w.WorkflowID == cozesim.WorkflowWeather && w.CreatedAt > 0 }) {
		t.Fatalf("ListWorkflows = %+v, %v", page, err)
	}
	info, err := c.WorkflowInfo(ctx, tok, cozesim.WorkflowWeather, true)
	if err != nil || info.Workflow.WorkflowID != cozesim.WorkflowWeather || !info.Inputs["city"].Required {
		t.Fatalf("WorkflowInfo = %+v, %v", info, err)
	}
	run, err := c.RunWorkflow(ctx, tok, coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowWeather, Parameters: map[string]any{"city": "杭州"}})
	if err != nil || !strings.Contains(run.Data, "杭州") || run.DebugURL == "" {
		t.Fatalf("RunWorkflow = %+v, %v", run, err)
	}
	async, err := c.RunWorkflow(ctx, tok, coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowWeather, IsAsync: true, Parameters: map[string]any{"city": "Paris"}})
	if err != nil || async.ExecuteID == "" {
		t.Fatalf("async RunWorkflow = %+v, %v", async, err)
	}
	if _, err := c.RunWorkflow(ctx, tok, coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowDraft}); !coze.IsNotFound(err) {
		t.Errorf("draft workflow err = %v, want 4200", err)
	}
	s, err := c.StreamWorkflow(ctx, tok, coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowJoke})
	evs, err := streamEvents(t, s, err)
	if got := names(evs); !errors.Is(err, io.EOF) || got[0] != coze.WorkflowMessage || got[len(got)-1] != coze.WorkflowDone || evs[0].ID != "0" {
		t.Errorf("joke stream = %v, %v", got, err)
	}
	s, err = c.StreamWorkflow(ctx, tok, coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowAsk})
	evs, _ = streamEvents(t, s, err)
	last := evs[len(evs)-1]
	var intr struct {
		InterruptData struct {
			EventID string `json:"event_id"`
			Type    int    `json:"type"`
		} `json:"interrupt_data"`
	}
	if last.Name != coze.WorkflowInterrupt || jsonDecode(last.Data, &intr) != nil || intr.InterruptData.EventID == "" {
		t.Fatalf("ask stream ended with %s %s", last.Name, last.Data)
	}
	s, err = c.ResumeWorkflow(ctx, tok, coze.ResumeWorkflowRequest{WorkflowID: cozesim.WorkflowAsk, EventID: intr.InterruptData.EventID,
		InterruptType: intr.InterruptData.Type, ResumeData: "杭州，2024-08-20"})
	evs, err = streamEvents(t, s, err)
	if got := names(evs); !errors.Is(err, io.EOF) || got[len(got)-1] != coze.WorkflowDone || evs[0].ID != "0" {
		t.Errorf("resume stream = %v, %v", got, err)
	}
}

// coze-protocol E11: a workflow inside a Coze app carries its app_id in the list and runs
// with it; app_id "0" means none; app_id with bot_id is refused before any call.
func TestContractWorkflowInApp(t *testing.T) {
	e, c, tok, ctx := signedIn(t, cozesim.Options{})
	page, err := c.ListWorkflows(ctx, tok, coze.ListWorkflowsParams{WorkspaceID: cozesim.WorkspaceTeam, PageSize: 30})
	if err != nil {
		t.Fatal(err)
	}
	apps := map[string]string{}
	for _, w := range page.Items {
		apps[w.WorkflowID] = w.App()
	}
	if apps[cozesim.WorkflowInApp] != cozesim.DemoAppID || apps[cozesim.WorkflowJoke] != "" {
		t.Fatalf("apps %v, want %s for the app workflow and none (\"0\") for others", apps, cozesim.DemoAppID)
	}
	info, err := c.WorkflowInfo(ctx, tok, cozesim.WorkflowInApp, false)
	if err != nil || info.Workflow.App() != cozesim.DemoAppID {
		t.Fatalf("info = %+v, %v; want app %s", info.Workflow, err, cozesim.DemoAppID)
	}

	if _, err := c.StreamWorkflow(ctx, tok, coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowInApp}); !coze.IsNotFound(err) {
		t.Errorf("run without app_id: %v, want the simulator's refusal", err)
	}
	s, err := c.StreamWorkflow(ctx, tok, coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowInApp, AppID: info.Workflow.App()})
	evs, err := streamEvents(t, s, err)
	if got := names(evs); !errors.Is(err, io.EOF) || got[len(got)-1] != coze.WorkflowDone {
		t.Errorf("run with app_id: %v, %v", got, err)
	}
	if run, err := c.RunWorkflow(ctx, tok, coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowInApp, AppID: cozesim.DemoAppID}); err != nil || run.Data == "" {
		t.Errorf("non-stream run with app_id = %+v, %v", run, err)
	}
	// "0" is no app: the plain workflow runs, and no app_id is sent.
	e.sim.ResetCalls()
	s, err = c.StreamWorkflow(ctx, tok, coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowJoke, AppID: "0", BotID: cozesim.BotAssistant})
	if _, err := streamEvents(t, s, err); !errors.Is(err, io.EOF) {
		t.Errorf("app_id \"0\" with bot_id: %v", err)
	}
	if reqs := e.sim.Requests(); len(reqs) != 1 || strings.Contains(string(reqs[0].Body), "app_id") {
		t.Errorf("requests %d, body %s; want one without app_id", len(reqs), reqs[0].Body)
	}

	e.sim.ResetCalls()
	both := coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowInApp, AppID: cozesim.DemoAppID, BotID: cozesim.BotAssistant}
	if _, err := c.StreamWorkflow(ctx, tok, both); !errors.Is(err, coze.ErrAppAndBot) {
		t.Errorf("stream with app_id and bot_id: %v, want ErrAppAndBot", err)
	}
	if _, err := c.RunWorkflow(ctx, tok, both); !errors.Is(err, coze.ErrAppAndBot) {
		t.Errorf("run with app_id and bot_id: %v, want ErrAppAndBot", err)
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d requests reached Coze for app_id with bot_id", n)
	}
}
