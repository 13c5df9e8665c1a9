package cozesim

import (
	"strings"
	"testing"
)

// answersOf returns the completed answers of a stream as content_type and content.
func answersOf(evs []wireEvent) (types, contents []string) {
	for _, ev := range evs {
		if ev.Name == "conversation.message.completed" && str(ev.Data, "type") == "answer" {
			types = append(types, str(ev.Data, "content_type"))
			contents = append(contents, str(ev.Data, "content"))
		}
	}
	return types, contents
}

func TestCardsOnlyWhenTheRequestSetsEnableCard(t *testing.T) {
	for _, tt := range []struct {
		name, bot, q string
	}{
		{"card demo", BotCard, "Show me a card"},
		{"#card", BotAssistant, "#card"},
		{"question demo", BotQuestion, "Order a drink"},
	} {
		for _, enable := range []bool{false, true} {
			name := tt.name + "/without enable_card"
			if enable {
				name = tt.name + "/with enable_card"
			}
			t.Run(name, func(t *testing.T) {
				e, tok := alanEnv(t, Options{})
				body := chatBodyFor(tt.bot, tt.q, true)
				if enable {
					body = withCards(body)
				}
				_, _, evs := e.chatStream(t, tok, "/v3/chat", body)
				types, _ := answersOf(evs)
				cards := strings.Count(strings.Join(types, " "), "card")
				if (cards > 0) != enable || len(types) == 0 {
					t.Errorf("answers %v with enable_card=%v", types, enable)
				}
			})
		}
	}
}

func TestHostileCardWithoutEnableCardIsATextStandIn(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	_, _, evs := e.chatStream(t, tok, "/v3/chat", chatBodyFor(BotAssistant, "#card", true))
	types, contents := answersOf(evs)
	if len(types) != 1 || types[0] != "text" || contents[0] != cardWithheld {
		t.Errorf("answers %v %q, want the one text %q", types, contents, cardWithheld)
	}
}

// A question without enable_card is a plain text answer naming the options;
// the workflow still waits for the reply and an option still continues it.
func TestQuestionWithoutEnableCardIsPlainTextWithItsOptions(t *testing.T) {
	e := mustEnv(t, Options{})
	tok, _ := e.sim.IssueToken(UserBea)
	_, _, evs := e.chatStream(t, tok, "/v3/chat", chatBodyFor(BotQuestion, "Order a drink", true))
	types, contents := answersOf(evs)
	if strings.Join(types, ",") != "text,text" {
		t.Fatalf("answers %v, want the intro and the question as text", types)
	}
	q := contents[1]
	if !strings.HasPrefix(q, drinkQuestion.Title) {
		t.Errorf("question text %q does not start with the title", q)
	}
	for _, o := range drinkQuestion.Options {
		if !strings.Contains(q, "\n- "+o) {
			t.Errorf("question text %q lacks option %q", q, o)
		}
	}
	deltas := 0
	for _, ev := range evs {
		if ev.Name == "conversation.message.delta" && str(ev.Data, "content") != "" && strings.Contains(q, str(ev.Data, "content")) {
			deltas++
		}
	}
	if deltas == 0 {
		t.Errorf("the question text was not streamed")
	}
	last := evs[len(evs)-2]
	if last.Name != "conversation.chat.requires_action" || !strings.Contains(last.Raw, `"type":"reply_message"`) {
		t.Fatalf("stream ends with %s %s", last.Name, last.Raw)
	}
	convID := str(evs[0].Data, "conversation_id")
	_, _, next := e.chatStream(t, tok, "/v3/chat?conversation_id="+convID, chatBodyFor(BotQuestion, "Juice", true))
	_, answers := answersOf(next)
	if next[len(next)-2].Name != "conversation.chat.completed" || len(answers) != 1 || !strings.Contains(answers[0], "juice") {
		t.Errorf("after choosing Juice: end %s, answers %q", next[len(next)-2].Name, answers)
	}
}
