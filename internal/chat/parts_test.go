package chat_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
)

// Each kind of Coze stream recorded in the fixtures (coze-protocol E12) becomes our
// events only, and the history keeps the same parts the browser was sent.
func TestFixtureStreamsTranslate(t *testing.T) {
	tests := []struct {
		fixture   string
		names     []string // our events, in order
		end       string
		code      string
		usage     *coze.Usage
		answer    string
		reasoning string
		cards     string // stored JSON
		question  string // stored JSON
		hidden    []string
	}{
		{
			fixture: "chat_stream_reasoning.sse",
			names: []string{"chat", "reasoning", "reasoning", "reasoning", "reasoning", "reasoning",
				"delta", "delta", "delta", "end"},
			end: chat.EndCompleted, usage: &coze.Usage{TokenCount: 412, OutputCount: 318, InputCount: 94},
			answer:    "Yes, 17 is prime: no whole number between 2 and 4 divides it evenly.",
			reasoning: "The user asks whether 17 is prime. A number is prime when no whole number from 2 to its square root divides it; √17 is about 4.1, and 2, 3 and 4 leave remainders, so 17 is prime.",
			hidden:    []string{"generate_answer_finish", "reasoning_content"},
		},
		{
			fixture: "chat_stream_card.sse",
			names:   []string{"chat", "card", "delta", "delta", "end"},
			end:     chat.EndCompleted, usage: &coze.Usage{TokenCount: 233, OutputCount: 41, InputCount: 192},
			answer: "Here is the forecast for Saturday.",
			cards:  `[{"title":"Hangzhou, Saturday","text":"Light rain, 14–19 °C, wind NE 3.","image_url":"https://p3-sign.byteimg.example/weather/rain.png","links":[{"text":"Full forecast","url":"https://weather.example.com/hangzhou"}],"options":["Tomorrow","Next week"]}]`,
			hidden: []string{"@flowpd", "template_id", "actionType"},
		},
		{
			// A workflow question node: the turn ends normally, the question is the answer.
			fixture: "chat_stream_question.sse",
			names:   []string{"chat", "delta", "delta", "question", "end"},
			end:     chat.EndCompleted, usage: &coze.Usage{},
			answer:   "Happy to help with your coffee order.",
			question: `{"text":"Which size would you like?","options":["Small","Medium","Large"]}`,
			hidden:   []string{"workflow_card_info", "interrupt", "reply_message"},
		},
		{
			fixture: "chat_stream_verbose.sse",
			names:   []string{"chat", "delta", "delta", "end"},
			end:     chat.EndCompleted, usage: &coze.Usage{TokenCount: 517, OutputCount: 23, InputCount: 494},
			answer: "We are open on Saturday from 10:00 to 16:00.",
			hidden: []string{"Opening hours", "knowledge_recall", "Store FAQ"},
		},
		{
			// Audio after conversation.chat.completed is neither relayed nor stored.
			fixture: "chat_stream_audio.sse",
			names:   []string{"chat", "delta", "end"},
			end:     chat.EndCompleted, usage: &coze.Usage{TokenCount: 115, OutputCount: 24, InputCount: 91},
			answer: "delta text",
			hidden: []string{"KgAxAC8A", "audio"},
		},
		{
			// A function call needs a local plugin: that still fails.
			fixture: "chat_stream_requires_action.sse",
			names:   []string{"chat", "end"},
			end:     chat.EndFailed, code: "requires_action", usage: &coze.Usage{},
			hidden: []string{"local_data_assistant"},
		},
	}
	h := mustHarness(t)
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			h.stub("POST /v3/chat", fixture(t, tt.fixture))
			evs := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "hi"}).all(t)
			var names []string
			for _, ev := range evs {
				names = append(names, ev.Name)
				for _, s := range tt.hidden {
					if strings.Contains(ev.Data, s) {
						t.Errorf("event %s carries %q: %s", ev.Name, s, ev.Data)
					}
				}
			}
			if !slices.Equal(names, tt.names) {
				t.Errorf("events = %v, want %v", names, tt.names)
			}
			end := endOf(t, evs)
			if end.Status != tt.end || end.Code != tt.code || !cmp.Equal(end.Usage, tt.usage) {
				t.Errorf("end = %+v (usage %+v), want %s %q usage %+v", end, end.Usage, tt.end, tt.code, tt.usage)
			}
			if got := deltaText(t, evs); got != tt.answer {
				t.Errorf("answer deltas = %q, want %q", got, tt.answer)
			}
			if got := partText(t, evs, chat.EventReasoning); got != tt.reasoning {
				t.Errorf("reasoning = %q, want %q", got, tt.reasoning)
			}
			_, chatID := chatIDs(t, evs)
			h.mustRun(t, h.alan, chatID)
			m := h.mustMessage(t, h.alan, chatID)
			wantStatus := map[string]string{chat.EndCompleted: store.StatusComplete, chat.EndFailed: store.StatusFailed}[tt.end]
			if m.Status != wantStatus || m.ErrorCode != tt.code || m.Content != tt.answer || m.Reasoning != tt.reasoning ||
				string(m.Cards) != tt.cards || string(m.Question) != tt.question {
				t.Errorf("stored = status %q %q content %q reasoning %q cards %s question %s", m.Status, m.ErrorCode, m.Content, m.Reasoning, m.Cards, m.Question)
			}
			// What the card and question events carried is what was stored.
			for _, ev := range evs {
				var d struct {
					Card    json.RawMessage `json:"card"`
					Text    string          `json:"text"`
					Options []string        `json:"options"`
					Message string          `json:"message_id"`
				}
				json.Unmarshal([]byte(ev.Data), &d)
				switch ev.Name {
				case chat.EventCard:
					if d.Message == "" || "["+string(d.Card)+"]" != tt.cards {
						t.Errorf("card event %s, stored %s", ev.Data, tt.cards)
					}
				case chat.EventQuestion:
					q, _ := json.Marshal(struct {
						Text    string   `json:"text"`
						Options []string `json:"options"`
					}{d.Text, d.Options})
					if d.Message == "" || string(q) != tt.question {
						t.Errorf("question event %s, stored %s", ev.Data, tt.question)
					}
				}
			}
		})
	}
}

// The non-stream result carries the same parts.
func TestCompleteCarriesParts(t *testing.T) {
	h := mustHarness(t)
	h.stub("POST /v3/chat", fixture(t, "chat_stream_card.sse"))
	res, err := h.svc.Complete(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotAssistant, Message: "cards"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cards) != 1 || res.Cards[0].Title != "Hangzhou, Saturday" || res.Answer != "Here is the forecast for Saturday." || res.Question != nil {
		t.Errorf("result = %+v", res)
	}
	h.stub("POST /v3/chat", fixture(t, "chat_stream_question.sse"))
	res, err = h.svc.Complete(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotAssistant, Message: "question"})
	if err != nil {
		t.Fatalf("question turn: %v, want a completed reply", err)
	}
	if res.Question == nil || res.Question.Text != "Which size would you like?" || len(res.Question.Options) != 3 {
		t.Errorf("question = %+v", res.Question)
	}
	h.stub("POST /v3/chat", fixture(t, "chat_stream_reasoning.sse"))
	if res, err = h.svc.Complete(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotAssistant, Message: "think"}); err != nil || !strings.HasPrefix(res.Reasoning, "The user asks") {
		t.Errorf("reasoning = %q (%v)", res.Reasoning, err)
	}
}

// A cut reply is reconciled from /v3/chat/message/list with the same parts a stream
// gives: the card and the thinking come back, verbose messages do not.
func TestReconcileFillsParts(t *testing.T) {
	h := mustHarness(t)
	raw := fixture(t, "chat_stream_reasoning.sse")
	// Cut inside the first answer delta: chat and some reasoning arrive, then the
	// connection breaks.
	cut := raw[:strings.Index(string(raw), `"content":"Yes, 17`)+5]
	h.stub("POST /v3/chat", cut)
	const conv, chatID = "7480031245671234502", "7480031245671234501"
	card := fixtureCard(t)
	list, _ := json.Marshal(map[string]any{"code": 0, "msg": "", "data": []map[string]any{
		{"id": "1", "conversation_id": conv, "chat_id": chatID, "role": "assistant", "type": "verbose", "content": `{"msg_type":"knowledge_recall","data":"{}"}`, "content_type": "text"},
		{"id": "2", "conversation_id": conv, "chat_id": chatID, "role": "assistant", "type": "answer", "content": card, "content_type": "card"},
		{"id": "3", "conversation_id": conv, "chat_id": chatID, "role": "assistant", "type": "answer", "content": "Yes.", "content_type": "text", "reasoning_content": "Because."},
		{"id": "4", "conversation_id": conv, "chat_id": chatID, "role": "assistant", "type": "follow_up", "content": "Is 19 prime?", "content_type": "text"},
	}})
	h.stub("GET /v3/chat/message/list", list)
	retrieve, _ := json.Marshal(map[string]any{"code": 0, "msg": "", "data": map[string]any{"id": chatID, "conversation_id": conv, "status": "completed",
		"usage": map[string]int{"token_count": 9, "output_count": 4, "input_count": 5}}})
	h.stub("GET /v3/chat/retrieve", retrieve)
	h.stub("POST /v3/chat/retrieve", retrieve)

	evs := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "17?"}).all(t)
	if end := endOf(t, evs); end.Status != chat.EndInterrupted || end.Code != "upstream_reset" {
		t.Fatalf("end = %+v, want interrupted upstream_reset", end)
	}
	run := h.mustRun(t, h.alan, chatID)
	m := h.mustMessage(t, h.alan, chatID)
	if m.Status != "complete" || m.Content != "Yes." || m.Reasoning != "Because." || !strings.Contains(string(m.Cards), `"title":"Hangzhou, Saturday"`) ||
		m.Question != nil || !slices.Equal(m.FollowUps, []string{"Is 19 prime?"}) {
		t.Errorf("reconciled = %+v cards %s", m, m.Cards)
	}
	if res := run.Result(); res.Reasoning != "Because." || len(res.Cards) != 1 || res.Usage == nil || res.Usage.TokenCount != 9 {
		t.Errorf("run result = %+v", res)
	}
}

// fixtureCard is the card content of chat_stream_card.sse.
func fixtureCard(t *testing.T) string {
	t.Helper()
	raw := fixture(t, "chat_stream_card.sse")
	er := coze.NewEventReader(strings.NewReader(string(raw)), 0)
	for ev, err := er.Next(); err == nil; ev, err = er.Next() {
		if m, err := ev.Message(); err == nil && m.ContentType == "card" {
			return m.Content
		}
	}
	t.Fatal("no card in chat_stream_card.sse")
	return ""
}

// The simulator's demo bots speak the shapes of the fixtures; through the whole stack
// each gives its kind of event, and the next turn answers a question's option.
func TestSimDemoBots(t *testing.T) {
	h := mustHarness(t)
	kinds := func(evs []sseEvent) map[string]int {
		n := map[string]int{}
		for _, ev := range evs {
			n[ev.Name]++
		}
		return n
	}
	for _, tt := range []struct {
		bot, msg string
		want     string // an event kind the reply must have
	}{
		{cozesim.BotThinking, "Is 17 prime?", chat.EventReasoning},
		{cozesim.BotCard, "weather", chat.EventCard},
		{cozesim.BotQuestion, "I am thirsty", chat.EventQuestion},
		{cozesim.BotMath, "quadratic formula", chat.EventDelta},
	} {
		t.Run(tt.bot, func(t *testing.T) {
			evs := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: tt.bot, Message: tt.msg}).all(t)
			if end := endOf(t, evs); end.Status != chat.EndCompleted {
				t.Fatalf("end = %+v, want completed", end)
			}
			n := kinds(evs)
			if n[tt.want] == 0 || n[chat.EventChat] != 1 || n[chat.EventEnd] != 1 {
				t.Fatalf("event kinds = %v, want %s", n, tt.want)
			}
			for _, ev := range evs {
				if strings.Contains(ev.Data, "knowledge_recall") || strings.Contains(ev.Data, "generate_answer_finish") {
					t.Errorf("verbose data relayed: %s", ev.Data)
				}
			}
			convID, chatID := chatIDs(t, evs)
			h.mustRun(t, h.alan, chatID)
			m := h.mustMessage(t, h.alan, chatID)
			if m.Status != "complete" || m.Content != deltaText(t, evs) || m.Reasoning != partText(t, evs, chat.EventReasoning) ||
				(n[chat.EventCard] > 0) != (m.Cards != nil) || (n[chat.EventQuestion] > 0) != (m.Question != nil) {
				t.Errorf("stored = %+v, cards %s, question %s; events %v", m, m.Cards, m.Question, n)
			}
			if tt.want != chat.EventQuestion {
				return
			}
			var q chat.Question
			if err := json.Unmarshal(m.Question, &q); err != nil || len(q.Options) == 0 {
				t.Fatalf("question = %s (%v)", m.Question, err)
			}
			next := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: tt.bot, Message: q.Options[0], ConversationID: convID}).all(t)
			if end := endOf(t, next); end.Status != chat.EndCompleted || deltaText(t, next) == "" {
				t.Errorf("answer to the option: end %+v, text %q", end, deltaText(t, next))
			}
		})
	}
}

// Coze's failures inside the stream end the reply with Coze's code, words a person
// can act on and the stream's log id for Coze support (coze-protocol E7): a 9-digit
// platform code keeps Coze's own message, a model failure (4013, 5000) names the
// catalog's stream.model_error ("try again") instead of Coze's text.
func TestCozeFailuresInTheStreamCarryTheLogID(t *testing.T) {
	h := mustHarness(t)
	for _, tt := range []struct {
		name, msg string
		fault     *cozesim.Fault
		code      string
		key       string
		message   string
	}{
		{"platform code", "#busy", nil, "702042078", "", "We're currently experiencing server issues"},
		{"model failure as error event", "hello", &cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, ErrorAfterEvents: 2, Code: 4013, Msg: "model overloaded"},
			"4013", "model_error", ""},
		{"model failure as chat.failed", "hello", &cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, FailAfterEvents: 2, Code: 5000, Msg: "internal"},
			"5000", "model_error", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				h.sim.AddFault(*tt.fault)
			}
			evs := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: tt.msg}).all(t)
			end := endOf(t, evs)
			if end.Status != chat.EndFailed || end.Code != tt.code || end.Key != tt.key || !strings.HasPrefix(end.Message, tt.message) || end.LogID == "" {
				t.Errorf("end = %+v, want failed %s key %q message %q… with a log id", end, tt.code, tt.key, tt.message)
			}
		})
	}
}
