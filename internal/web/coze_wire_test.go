package web

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// Coze's wire as the real server speaks it (issue 7, coze-protocol errata), seen through
// the app.

// lastAssistant returns the newest assistant message of the user's newest conversation
// with bot.
func lastAssistant(t *testing.T, e *testEnv, c *http.Client, bot string) messageJSON {
	t.Helper()
	convs := decode[struct {
		Conversations []conversationJSON `json:"conversations"`
	}](t, e.get(c, "/api/conversations?bot_id="+bot))
	if len(convs.Conversations) == 0 {
		t.Fatal("no conversation was recorded")
	}
	hist := decode[struct {
		Messages []messageJSON `json:"messages"`
	}](t, e.get(c, "/api/conversations/"+convs.Conversations[0].ID+"/messages"))
	for i := len(hist.Messages) - 1; i >= 0; i-- {
		if hist.Messages[i].Role == "assistant" {
			return hist.Messages[i]
		}
	}
	t.Fatalf("no assistant message in %+v", hist.Messages)
	return messageJSON{}
}

// coze-protocol E2: a chat whose final event (here conversation.chat.failed, after which
// Coze sends nothing) ends without its blank line, or without any newline, is recorded
// with Coze's failure, not as a cut stream.
func TestChatRelay_FinalEventWithoutBlankLine(t *testing.T) {
	t.Parallel()
	for _, ending := range []cozesim.Ending{cozesim.EndNewline, cozesim.EndNone} {
		t.Run(fmt.Sprintf("ending=%d", ending), func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, envOpts{})
			c := signIn(t, e, cozesim.UserAlan)
			e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, FailAfterEvents: 3, FinalEnding: ending})
			mustStream(t, e, c, cozesim.BotAssistant, "hello", "")
			m := lastAssistant(t, e, c, cozesim.BotAssistant)
			// The simulator fails the chat with last_error 5000 "event interval error".
			if m.Status != "failed" || m.ErrorCode != "5000" {
				t.Errorf("assistant message status %q error_code %q, want failed 5000 (Coze's own failure)", m.Status, m.ErrorCode)
			}
		})
	}
}
