package coze

import (
	"encoding/json"
	"testing"
)

// enable_card goes on the wire as a JSON boolean when set, and is left out
// otherwise, as the SDKs do (coze-go chats.go `json:"enable_card,omitempty"`;
// coze-py cozepy/chat/__init__.py drops None fields).
func TestChatRequestSendsEnableCardOnlyWhenSet(t *testing.T) {
	for _, enable := range []bool{false, true} {
		f, c := mustFake(t, Options{})
		f.answer(200, "text/event-stream", mustFixture(t, "chat_stream_question.sse"))
		if err := drain(c.StreamChat(t.Context(), AccessToken("tok"), ChatRequest{BotID: "7348293334459311234", UserID: "u1",
			AdditionalMessages: []EnterMessage{{Role: "user", Type: "question", Content: "hi", ContentType: "text"}},
			EnableCard:         enable})); err != nil {
			t.Fatalf("EnableCard %v: %v", enable, err)
		}
		var body map[string]any
		if err := json.Unmarshal(f.last(t).Body, &body); err != nil {
			t.Fatal(err)
		}
		got, sent := body["enable_card"]
		if sent != enable || (enable && got != true) {
			t.Errorf("EnableCard %v: body enable_card = %v (present %v)", enable, got, sent)
		}
	}
}
