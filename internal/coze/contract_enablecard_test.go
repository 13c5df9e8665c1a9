package coze_test

import (
	"testing"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// A workflow question's options come as a card only when the chat asks for
// cards (coze-protocol §15.1 enable_card; coze-go chats.go
// CreateChatsReq.EnableCard); the simulator, like Coze, sends plain text
// otherwise.
func TestContractEnableCardAsksForTheQuestionCard(t *testing.T) {
	e := mustSim(t, cozesim.Options{})
	c, tok, ctx := e.web, e.token(cozesim.UserAlan), runCtx(t)
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
