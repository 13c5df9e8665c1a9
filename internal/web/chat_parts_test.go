package web

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// streamedParts is what a browser assembles from our events of one reply.
type streamedParts struct {
	answer, reasoning string
	cards             []string // each card's JSON
	question          string   // JSON {"text","options"} of the last question, "null" when none
	followUps         []string
}

func partsOf(t *testing.T, evs []sseEvent) streamedParts {
	t.Helper()
	p := streamedParts{question: "null"}
	var answer, reasoning strings.Builder
	for _, ev := range evs {
		var d struct {
			MessageID string          `json:"message_id"`
			Text      string          `json:"text"`
			Options   []string        `json:"options"`
			Card      json.RawMessage `json:"card"`
		}
		if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
			t.Fatalf("%s data %q: %v", ev.name, ev.data, err)
		}
		switch ev.name {
		case "delta":
			answer.WriteString(d.Text)
		case "reasoning":
			reasoning.WriteString(d.Text)
		case "card":
			p.cards = append(p.cards, string(d.Card))
		case "question":
			q, _ := json.Marshal(struct {
				Text    string   `json:"text"`
				Options []string `json:"options"`
			}{d.Text, d.Options})
			p.question = string(q)
		case "follow_up":
			p.followUps = append(p.followUps, d.Text)
		}
	}
	p.answer, p.reasoning = answer.String(), reasoning.String()
	return p
}

// A reply reads the same live and from the history once it ended: answer, thinking,
// cards, question and follow-ups (docs/stream-contract.md), for each demo bot of the
// simulator.
func TestChat_PartsSameLiveAndFromHistory(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	for _, tt := range []struct {
		name, bot, msg string
		want           func(streamedParts) bool
	}{
		{"thinking", cozesim.BotThinking, "Is 17 prime?", func(p streamedParts) bool { return p.reasoning != "" && p.answer != "" }},
		{"card", cozesim.BotCard, "weather please", func(p streamedParts) bool { return len(p.cards) > 0 }},
		{"question", cozesim.BotQuestion, "order a coffee", func(p streamedParts) bool { return p.question != "null" }},
		{"math", cozesim.BotMath, "quadratic formula", func(p streamedParts) bool { return strings.Contains(p.answer, "$") }},
		{"markdown", cozesim.BotAssistant, "plain", func(p streamedParts) bool { return p.answer != "" && len(p.followUps) > 0 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, evs := mustStream(t, e, c, tt.bot, tt.msg, "")
			if end := endOf(t, evs); end.Status != "completed" {
				t.Fatalf("end = %+v, want completed", end)
			}
			live := partsOf(t, evs)
			if !tt.want(live) {
				t.Fatalf("live parts = %+v, want the bot's kind of reply", live)
			}
			convID, chatID := chatIDs(t, evs)
			var m messageJSON
			for range 200 { // the record lands right after the end event
				msgs := decode[messagesBody](t, e.get(c, "/api/conversations/"+convID+"/messages"))
				if n := len(msgs.Messages); n == 2 && msgs.Messages[1].Status != "streaming" {
					m = msgs.Messages[1]
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			cards := []string{}
			var stored []json.RawMessage
			if err := json.Unmarshal(m.Cards, &stored); err != nil {
				t.Fatalf("stored cards %s: %v", m.Cards, err)
			}
			for _, c := range stored {
				cards = append(cards, string(c))
			}
			if live.cards == nil {
				live.cards = []string{}
			}
			if m.ChatID != chatID || m.Status != "complete" || m.Content != live.answer || m.Reasoning != live.reasoning ||
				!slices.Equal(cards, live.cards) || string(m.Question) != live.question || !slices.Equal(m.FollowUps, live.followUps) {
				t.Errorf("history = %+v\nlive    = %+v", m, live)
			}
		})
	}
}

// The Markdown export leaves the bot's thinking out unless thinking=1, and writes cards
// and questions as their text; the JSON export carries every part.
func TestExport_Parts(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	think := mustChat(t, e, c, cozesim.BotThinking, "Is 17 prime?", "")
	if think.Reasoning == "" || think.Answer == "" {
		t.Fatalf("thinking reply = %+v, want reasoning and answer", think)
	}
	card := mustChat(t, e, c, cozesim.BotCard, "weather please", think.ConversationID)
	if len(card.Cards) == 0 {
		t.Fatalf("card reply = %+v, want a card", card)
	}
	var first struct {
		Title, Text string
		Options     []string
	}
	json.Unmarshal(card.Cards[0], &first)

	md := string(e.get(c, "/api/conversations/"+think.ConversationID+"/export?format=md").body)
	if strings.Contains(md, think.Reasoning) || strings.Contains(md, "Thinking") {
		t.Errorf("md export carries the thinking by default:\n%s", md)
	}
	for _, want := range []string{think.Answer, first.Title, first.Text} {
		if want != "" && !strings.Contains(md, want) {
			t.Errorf("md export lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, `"title"`) || strings.Contains(md, "card_type") {
		t.Errorf("md export carries card JSON:\n%s", md)
	}
	firstLine := strings.SplitN(think.Reasoning, "\n", 2)[0]
	withThinking := string(e.get(c, "/api/conversations/"+think.ConversationID+"/export?format=md&thinking=1").body)
	if !strings.Contains(withThinking, "> **Thinking**") || !strings.Contains(withThinking, firstLine) {
		t.Errorf("md export with thinking=1 lacks the thinking %q:\n%s", firstLine, withThinking)
	}
	mustStatus(t, "bad thinking", e.get(c, "/api/conversations/"+think.ConversationID+"/export?format=md&thinking=yes"), 400)

	var j messagesBody
	if err := json.Unmarshal(e.get(c, "/api/conversations/"+think.ConversationID+"/export?format=json").body, &j); err != nil || len(j.Messages) != 4 {
		t.Fatalf("json export: %v %+v", err, j)
	}
	if j.Messages[1].Reasoning != think.Reasoning || string(j.Messages[3].Cards) == "[]" || string(j.Messages[1].Cards) != "[]" || string(j.Messages[1].Question) != "null" {
		t.Errorf("json export parts = %+v / %+v", j.Messages[1], j.Messages[3])
	}
}
