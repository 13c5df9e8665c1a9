package cozesim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// msgEvents are the message-level events whose data must match a fixture's
// (the new fixtures' Chat objects carry an empty required_action the older
// captures lack; both are real, so chat events are checked by name only).
var msgEvents = []string{"conversation.message.delta", "conversation.message.completed", "conversation.audio.delta"}

type wireEvent struct {
	Name string
	Data map[string]any
	Raw  string
}

// chatStream posts a streaming chat and decodes every event.
func (e *env) chatStream(tb testing.TB, tok, path string, body any) (http.Header, []byte, []wireEvent) {
	tb.Helper()
	h, b := e.stream(tb, path, tok, body)
	var out []wireEvent
	for _, ev := range readSSE(tb, b, false) {
		var m map[string]any
		_ = json.Unmarshal([]byte(ev.Data), &m)
		out = append(out, wireEvent{Name: ev.Name, Data: m, Raw: ev.Data})
	}
	return h, b, out
}

func objectBody(botID string, items ...map[string]any) map[string]any {
	j, _ := json.Marshal(items)
	return map[string]any{"bot_id": botID, "user_id": "u1", "stream": true,
		"additional_messages": []any{map[string]any{"role": "user", "content": string(j), "content_type": "object_string"}}}
}

func decodeJSONString(tb testing.TB, s string) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		tb.Fatalf("not a JSON object: %v: %.200s", err, s)
	}
	return m
}

// fixtureMessage returns the data of the i-th message event of a fixture
// whose field k equals v.
func fixtureMessage(tb testing.TB, fixture, k, v string) map[string]any {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtureDir, fixture))
	if err != nil {
		tb.Fatalf("fixture %s: %v", fixture, err)
	}
	for _, ev := range readSSE(tb, raw, false) {
		var m map[string]any
		_ = json.Unmarshal([]byte(ev.Data), &m)
		if str(m, k) == v {
			return m
		}
	}
	tb.Fatalf("fixture %s has no message with %s=%s", fixture, k, v)
	return nil
}

func TestDemoBotsAreInEveryWorkspace(t *testing.T) {
	e := mustEnv(t, Options{})
	want := map[string]string{BotThinking: "Thinking demo", BotCard: "Card demo", BotQuestion: "Question demo", BotMath: "Math demo"}
	for _, user := range []string{UserAlan, UserBea, UserChen} {
		tok, _ := e.sim.IssueToken(user)
		for _, ws := range []string{WorkspaceTeam, e.sim.PersonalWorkspace(user)} {
			m := e.mustOK(t, http.MethodGet, "/v1/bots?workspace_id="+ws, tok, nil)
			names := map[string]string{}
			for _, it := range dataMap(m)["items"].([]any) {
				b := it.(map[string]any)
				names[str(b, "name")] = str(b, "id")
			}
			for id, name := range want {
				got, found := names[name]
				if !found {
					t.Errorf("user %s workspace %s: no published bot %q in %v", user, ws, name, names)
				}
				if ws == WorkspaceTeam && got != id {
					t.Errorf("team %q has id %s, want %s", name, got, id)
				}
			}
		}
	}
	tok, _ := e.sim.IssueToken(UserBea)
	for id, name := range want {
		b := dataMap(e.mustOK(t, http.MethodGet, "/v1/bots/"+id, tok, nil))
		ob, _ := b["onboarding_info"].(map[string]any)
		if str(b, "name") != name || !strings.Contains(str(b, "description"), " / ") || !strings.Contains(str(ob, "prologue"), " / ") {
			t.Errorf("bot %s: name %q, description %q, onboarding %v: want bilingual", id, str(b, "name"), str(b, "description"), ob)
		}
	}
}

func TestThinkingDemoStreamsReasoningBeforeAnswer(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	_, raw, evs := e.chatStream(t, tok, "/v3/chat", chatBodyFor(BotThinking, "Is 17 prime?", true))
	checkSSEFixture(t, "chat_stream_reasoning.sse", raw, msgEvents)

	var reasoning, content strings.Builder
	answering := false
	var completed map[string]any
	var convID, chatID string
	for _, ev := range evs {
		switch ev.Name {
		case "conversation.chat.created":
			convID, chatID = str(ev.Data, "conversation_id"), str(ev.Data, "id")
		case "conversation.message.delta":
			if _, has := ev.Data["reasoning_content"]; !has {
				t.Fatalf("delta without reasoning_content: %s", ev.Raw)
			}
			r, c := str(ev.Data, "reasoning_content"), str(ev.Data, "content")
			switch {
			case r != "" && c == "" && !answering:
				reasoning.WriteString(r)
			case r == "" && c != "":
				answering = true
				content.WriteString(c)
			default:
				t.Errorf("delta mixes or reorders reasoning and answer: %s", ev.Raw)
			}
		case "conversation.message.completed":
			if str(ev.Data, "type") == "answer" {
				completed = ev.Data
			} else if _, has := ev.Data["reasoning_content"]; has {
				t.Errorf("%s message carries reasoning_content: %s", str(ev.Data, "type"), ev.Raw)
			}
		}
	}
	if reasoning.Len() == 0 || !answering {
		t.Fatalf("reasoning %q, answered %v", reasoning.String(), answering)
	}
	if str(completed, "content") != content.String() || str(completed, "reasoning_content") != reasoning.String() {
		t.Errorf("completed answer %v\nwant content %q and reasoning %q", completed, content.String(), reasoning.String())
	}
	ml := e.mustOK(t, http.MethodGet, "/v3/chat/message/list?conversation_id="+convID+"&chat_id="+chatID, tok, nil)
	for _, it := range ml["data"].([]any) {
		if m := it.(map[string]any); str(m, "type") == "answer" && str(m, "reasoning_content") != reasoning.String() {
			t.Errorf("chat message list answer: reasoning_content %q", str(m, "reasoning_content"))
		}
	}
}

func TestCardDemoAnswersWithACardThenText(t *testing.T) {
	e, tok := alanEnv(t, Options{PublicBase: "http://sim.example"})
	_, raw, evs := e.chatStream(t, tok, "/v3/chat", withCards(chatBodyFor(BotCard, "Show me a card", true)))
	checkSSEFixture(t, "chat_stream_card.sse", raw, msgEvents)

	var cards, answers []map[string]any
	for _, ev := range evs {
		if ev.Name == "conversation.message.delta" && str(ev.Data, "content_type") != "text" {
			t.Errorf("a %s message was streamed as a delta", str(ev.Data, "content_type"))
		}
		if ev.Name == "conversation.message.completed" && str(ev.Data, "type") == "answer" {
			if str(ev.Data, "content_type") == "card" {
				cards = append(cards, ev.Data)
			} else {
				answers = append(answers, ev.Data)
			}
		}
	}
	if len(cards) != 1 || len(answers) != 1 {
		t.Fatalf("%d cards, %d text answers; want 1 and 1", len(cards), len(answers))
	}
	got := decodeJSONString(t, str(cards[0], "content"))
	want := decodeJSONString(t, str(fixtureMessage(t, "chat_stream_card.sse", "content_type", "card"), "content"))
	if d := structDiff("card", dropNotes(want), got); len(d) > 0 {
		t.Errorf("card envelope differs from the fixture's: %v", d)
	}
	if got["response_type"] != "card" || got["card_type"] != float64(3) {
		t.Errorf("envelope %v", got)
	}
	dsl := decodeJSONString(t, str(got, "data"))
	elements, _ := dsl["elements"].(map[string]any)
	root, _ := elements[str(dsl, "rootID")].(map[string]any)
	kinds := map[string]int{}
	props := map[string][]map[string]any{}
	for _, id := range root["children"].([]any) {
		el, _ := elements[id.(string)].(map[string]any)
		typ := strings.TrimPrefix(str(el, "type"), "@flowpd/cici-components/")
		kinds[typ]++
		p, _ := el["props"].(map[string]any)
		props[typ] = append(props[typ], p)
	}
	if kinds["Text"] != 2 || kinds["Image"] != 1 || kinds["Button"] != 3 {
		t.Errorf("card components %v, want 2 Text, 1 Image, 3 Button", kinds)
	}
	if !strings.Contains(str(props["Text"][1], "content"), "Show me a card") {
		t.Errorf("card text %v does not echo the question", props["Text"][1])
	}
	var actions []string
	for _, b := range props["Button"] {
		actions = append(actions, str(b, "actionType"))
		if str(b, "actionType") == "enableUrl" && !strings.HasPrefix(str(b, "url"), "https://") {
			t.Errorf("link button url %q", str(b, "url"))
		}
	}
	if !slices.Equal(actions, []string{"enableUrl", "enableMessage", "enableMessage"}) {
		t.Errorf("button actions %v", actions)
	}
}

func TestHostileCardUsesTheRealEnvelope(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	_, _, evs := e.chatStream(t, tok, "/v3/chat", withCards(chatBodyFor(BotAssistant, "#card", true)))
	for _, ev := range evs {
		if ev.Name == "conversation.message.completed" && str(ev.Data, "content_type") == "card" {
			card := decodeJSONString(t, str(ev.Data, "content"))
			if card["response_type"] != "card" || !strings.Contains(str(card, "data"), "javascript:window.__pwned=1") ||
				!strings.Contains(str(card, "data"), "<script>") {
				t.Errorf("hostile card %v", card)
			}
			return
		}
	}
	t.Fatal("no card answer")
}

// questionOf reads the question card of a Question demo stream.
func questionOf(tb testing.TB, evs []wireEvent) (title string, options []string) {
	tb.Helper()
	for _, ev := range evs {
		if ev.Name != "conversation.message.completed" || str(ev.Data, "content_type") != "card" {
			continue
		}
		card := decodeJSONString(tb, str(ev.Data, "content"))
		xp, _ := card["x_properties"].(map[string]any)
		info := decodeJSONString(tb, str(xp, "workflow_card_info"))
		qd, _ := info["question_card_data"].(map[string]any)
		if str(info, "card_type") != "QUESTION" {
			tb.Errorf("workflow_card_info %v", info)
		}
		for _, o := range qd["Options"].([]any) {
			options = append(options, str(o.(map[string]any), "name"))
		}
		return str(qd, "Title"), options
	}
	tb.Fatal("no question card")
	return "", nil
}

func TestQuestionDemoAsksThenContinuesWithTheChosenOption(t *testing.T) {
	e := mustEnv(t, Options{})
	tok, _ := e.sim.IssueToken(UserBea)
	_, raw, evs := e.chatStream(t, tok, "/v3/chat", withCards(chatBodyFor(BotQuestion, "Order a drink", true)))
	checkSSEFixture(t, "chat_stream_question.sse", raw, append(msgEvents, "conversation.chat.requires_action", "done"))

	var kinds []string
	for _, ev := range evs {
		if ev.Name != "conversation.message.completed" {
			continue
		}
		k := str(ev.Data, "type") + "/" + str(ev.Data, "content_type")
		if str(ev.Data, "type") == "verbose" {
			k += "/" + str(decodeJSONString(t, str(ev.Data, "content")), "msg_type")
		}
		kinds = append(kinds, k)
	}
	want := []string{"answer/text", "answer/card", "verbose/text/interrupt", "verbose/text/generate_answer_finish"}
	if !slices.Equal(kinds, want) {
		t.Errorf("completed messages %v\nwant %v", kinds, want)
	}
	last := evs[len(evs)-2]
	if last.Name != "conversation.chat.requires_action" || evs[len(evs)-1].Name != "done" {
		t.Fatalf("stream ends %s, %s", last.Name, evs[len(evs)-1].Name)
	}
	ra, _ := last.Data["required_action"].(map[string]any)
	sto, _ := ra["submit_tool_outputs"].(map[string]any)
	calls, _ := sto["tool_calls"].([]any)
	if str(ra, "type") != "submit_tool_outputs" || len(calls) != 1 {
		t.Fatalf("required_action %v", ra)
	}
	call := calls[0].(map[string]any)
	if str(call, "type") != "reply_message" || str(call, "id") != "" || call["function"] != nil {
		t.Errorf("tool call %v", call)
	}
	title, options := questionOf(t, evs)
	if title != drinkQuestion.Title || !slices.Equal(options, drinkQuestion.Options) {
		t.Errorf("question %q %v", title, options)
	}
	convID, chatID := str(evs[0].Data, "conversation_id"), str(evs[0].Data, "id")
	if st, _ := e.sim.ChatStatus(convID, chatID); st != statusRequiresAction {
		t.Errorf("question chat status %s", st)
	}

	// A reply that is not an option asks again.
	_, _, again := e.chatStream(t, tok, "/v3/chat?conversation_id="+convID, withCards(chatBodyFor(BotQuestion, "water", true)))
	if n := again[len(again)-2].Name; n != "conversation.chat.requires_action" {
		t.Errorf("non-option reply ended with %s", n)
	}
	// The user's next message, one of the options, continues the workflow.
	_, _, next := e.chatStream(t, tok, "/v3/chat?conversation_id="+convID, withCards(chatBodyFor(BotQuestion, options[1], true)))
	var answer string
	followUps := 0
	for _, ev := range next {
		if ev.Name == "conversation.message.completed" && str(ev.Data, "type") == "answer" {
			answer = str(ev.Data, "content")
		}
		if ev.Name == "conversation.message.completed" && str(ev.Data, "type") == "follow_up" {
			followUps++
		}
	}
	if next[len(next)-2].Name != "conversation.chat.completed" || !strings.Contains(strings.ToLower(answer), "tea") || !strings.Contains(answer, "茶") || followUps != 3 {
		t.Errorf("after choosing %q: end %s, answer %q, %d follow-ups", options[1], next[len(next)-2].Name, answer, followUps)
	}
}

func TestMathDemoRecallsKnowledgeAndAnswersWithMath(t *testing.T) {
	e := mustEnv(t, Options{})
	tok, _ := e.sim.IssueToken(UserChen)
	_, raw, evs := e.chatStream(t, tok, "/v3/chat", chatBodyFor(BotMath, "What is the Pythagorean theorem?", true))
	checkSSEFixture(t, "chat_stream_verbose.sse", raw, msgEvents)

	first := evs[2]
	if first.Name != "conversation.message.completed" || str(first.Data, "type") != "verbose" {
		t.Fatalf("third event %s %s, want the knowledge_recall verbose", first.Name, first.Raw)
	}
	recall := decodeJSONString(t, str(first.Data, "content"))
	wantRecall := decodeJSONString(t, str(fixtureMessage(t, "chat_stream_verbose.sse", "type", "verbose"), "content"))
	if d := structDiff("recall", wantRecall, recall); len(d) > 0 || str(recall, "msg_type") != "knowledge_recall" {
		t.Errorf("knowledge_recall %v: %v", recall, d)
	}
	data := decodeJSONString(t, str(recall, "data"))
	wantData := decodeJSONString(t, str(wantRecall, "data"))
	if d := structDiff("recall.data", wantData, data); len(d) > 0 {
		t.Errorf("knowledge_recall data differs from the fixture's: %v", d)
	}
	var answer string
	for _, ev := range evs {
		if ev.Name == "conversation.message.completed" && str(ev.Data, "type") == "answer" {
			answer = str(ev.Data, "content")
		}
	}
	for _, want := range []string{"$a^2 + b^2 = c^2$", "$$c = \\sqrt{a^2 + b^2}$$", "$$\\sum_{k=1}^{n}", "$5 and a cake $10"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q:\n%s", want, answer)
		}
	}
}

// TestVerboseMessagesAreNeverAnswerText checks every demo bot: verbose
// messages are completed only, never share an id with an answer, and
// generate_answer_finish comes after the last answer and before follow-ups.
func TestVerboseMessagesAreNeverAnswerText(t *testing.T) {
	tests := []struct {
		name          string
		bot, q        string
		wantKnowledge bool
	}{
		{"assistant", BotAssistant, "hello", false},
		{"memory", BotMemory, "hello", false},
		{"xss lab", BotXSS, "script", false},
		{"thinking", BotThinking, "why?", false},
		{"card", BotCard, "a card", false},
		{"math", BotMath, "euler", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, tok := alanEnv(t, Options{})
			var evs []wireEvent
			if tt.q == "" {
				_, _, first := e.chatStream(t, tok, "/v3/chat", chatBodyFor(tt.bot, "#tool", true))
				convID, chatID := str(first[0].Data, "conversation_id"), str(first[0].Data, "id")
				var callID string
				for _, ev := range first {
					if ev.Name == "conversation.chat.requires_action" {
						callID = str(ev.Data["required_action"].(map[string]any)["submit_tool_outputs"].(map[string]any)["tool_calls"].([]any)[0].(map[string]any), "id")
					}
				}
				_, _, evs = e.chatStream(t, tok, "/v3/chat/submit_tool_outputs?conversation_id="+convID+"&chat_id="+chatID,
					map[string]any{"stream": true, "tool_outputs": []map[string]any{{"tool_call_id": callID, "output": "晴 / sunny"}}})
			} else {
				_, _, evs = e.chatStream(t, tok, "/v3/chat", chatBodyFor(tt.bot, tt.q, true))
			}
			verboseIDs := map[string]bool{}
			var order []string
			recalls := 0
			for _, ev := range evs {
				typ := str(ev.Data, "type")
				if ev.Name == "conversation.message.delta" && typ != "answer" {
					t.Errorf("a %s message was streamed as a delta", typ)
				}
				if ev.Name != "conversation.message.completed" {
					continue
				}
				if typ == "verbose" {
					verboseIDs[str(ev.Data, "id")] = true
					v := decodeJSONString(t, str(ev.Data, "content"))
					switch str(v, "msg_type") {
					case "knowledge_recall":
						recalls++
						order = append(order, "recall")
					case "generate_answer_finish":
						order = append(order, "finish")
					default:
						t.Errorf("verbose %v", v)
					}
					continue
				}
				order = append(order, typ)
			}
			for _, ev := range evs {
				if ev.Name == "conversation.message.delta" && verboseIDs[str(ev.Data, "id")] {
					t.Errorf("a delta carries a verbose message's id")
				}
			}
			if (recalls == 1) != tt.wantKnowledge || recalls > 1 {
				t.Errorf("%d knowledge_recall messages", recalls)
			}
			finish := slices.Index(order, "finish")
			lastAnswer := -1
			for i, k := range order {
				if k == "answer" {
					lastAnswer = i
				}
			}
			if finish < 0 || finish < lastAnswer || slices.Index(order, "follow_up") < finish || slices.Contains(order[finish+1:], "answer") {
				t.Errorf("message order %v", order)
			}
			if tt.wantKnowledge && order[0] != "recall" {
				t.Errorf("knowledge_recall is not first: %v", order)
			}
		})
	}
}

func TestAudioDeltasFollowChatCompletedOnlyForAudioInput(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		itemType  string
		q         string
		wantAudio bool
		wantEnd   string
	}{
		{"audio input", "voice.wav", "audio", "听听这个 / listen", true, "conversation.chat.completed"},
		{"image input", "photo.png", "image", "look", false, "conversation.chat.completed"},
		{"audio input, failed chat", "voice.wav", "audio", "#busy", false, "conversation.chat.failed"},
		{"audio input, tool call", "voice.wav", "audio", "#tool", false, "conversation.chat.requires_action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, tok := alanEnv(t, Options{})
			up, _ := e.upload(t, tok, "file", map[string][]byte{tt.file: demoFiles[tt.itemType]})
			body := objectBody(BotAssistant, map[string]any{"type": "text", "text": tt.q}, map[string]any{"type": tt.itemType, "file_id": str(dataMap(up), "id")})
			_, raw, evs := e.chatStream(t, tok, "/v3/chat", body)
			if tt.wantAudio {
				checkSSEShapes(t, "chat_stream_audio.sse", raw, msgEvents)
			}
			end := slices.IndexFunc(evs, func(ev wireEvent) bool { return ev.Name == tt.wantEnd })
			if end < 0 {
				t.Fatalf("no %s in %v", tt.wantEnd, names(toSSE(evs)))
			}
			var answerID string
			audio := 0
			for i, ev := range evs {
				if ev.Name == "conversation.message.completed" && str(ev.Data, "type") == "answer" {
					answerID = str(ev.Data, "id")
				}
				if ev.Name != "conversation.audio.delta" {
					continue
				}
				audio++
				if i < end || str(ev.Data, "id") != answerID || str(ev.Data, "content_type") != "audio" || str(ev.Data, "type") != "answer" {
					t.Errorf("audio delta %d (chat ended at %d): %.200s", i, end, ev.Raw)
				}
				pcm, err := base64.StdEncoding.DecodeString(str(ev.Data, "content"))
				if err != nil || len(pcm) == 0 || len(pcm)%2 != 0 {
					t.Errorf("audio content is not base64 16-bit PCM: %v, %d bytes", err, len(pcm))
				}
			}
			if (audio > 0) != tt.wantAudio {
				t.Errorf("%d audio deltas, want audio %v", audio, tt.wantAudio)
			}
			if tt.wantAudio && evs[len(evs)-1].Name != "done" {
				t.Errorf("last event %s, want done", evs[len(evs)-1].Name)
			}
		})
	}
}

func toSSE(evs []wireEvent) []sseEvent {
	out := make([]sseEvent, len(evs))
	for i, ev := range evs {
		out[i] = sseEvent{Name: ev.Name, Data: ev.Raw}
	}
	return out
}

func TestPlatformErrorHasNineDigitCode(t *testing.T) {
	t.Run("chat failed", func(t *testing.T) {
		e, tok := alanEnv(t, Options{})
		h, _, evs := e.chatStream(t, tok, "/v3/chat", chatBodyFor(BotAssistant, "#busy", true))
		last := evs[len(evs)-1]
		le, _ := last.Data["last_error"].(map[string]any)
		if last.Name != "conversation.chat.failed" || le["code"] != float64(702042078) || str(le, "msg") != platformBusy.Msg {
			t.Errorf("last event %s %s", last.Name, last.Raw)
		}
		if len(h.Get("X-Tt-Logid")) != 34 {
			t.Errorf("log id %q", h.Get("X-Tt-Logid"))
		}
		r := dataMap(e.mustOK(t, http.MethodGet, "/v3/chat/retrieve?conversation_id="+str(last.Data, "conversation_id")+"&chat_id="+str(last.Data, "id"), tok, nil))
		if str(r, "status") != statusFailed || r["last_error"].(map[string]any)["code"] != float64(702042078) {
			t.Errorf("retrieve %v", r)
		}
	})
	t.Run("error event fault", func(t *testing.T) {
		e := mustEnv(t, Options{})
		e.sim.AddFault(Fault{Endpoint: "POST /v3/chat", ErrorAfterEvents: 2, Code: platformBusy.Code, Msg: platformBusy.Msg})
		tok, _ := e.sim.IssueToken(UserAlan)
		_, _, evs := e.chatStream(t, tok, "/v3/chat", chatBodyFor(BotAssistant, "hello", true))
		last := evs[len(evs)-1]
		if last.Name != "error" || last.Data["code"] != float64(702042078) || str(last.Data, "msg") != platformBusy.Msg {
			t.Errorf("last event %s %s", last.Name, last.Raw)
		}
	})
}

// checkSSEShapes is checkSSEFixture with runs of one event counted as runs of
// any length: the recorded audio stream has one delta and one audio chunk.
func checkSSEShapes(tb testing.TB, fixture string, body []byte, keysOf []string) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtureDir, fixture))
	if err != nil {
		tb.Fatalf("fixture %s: %v", fixture, err)
	}
	raw = append(bytes.TrimRight(raw, "\n"), "\n\n"...)
	want, got := readSSE(tb, raw, false), readSSE(tb, body, false)
	pattern := func(evs []sseEvent) string {
		return strings.ReplaceAll(strings.Join(collapse(names(evs)), ","), "*", "")
	}
	if pattern(want) != pattern(got) {
		tb.Errorf("%s: event pattern\n got %s\nwant %s", fixture, pattern(got), pattern(want))
	}
	byName := map[string][]any{}
	for _, ev := range want {
		var v any
		_ = json.Unmarshal([]byte(ev.Data), &v)
		byName[ev.Name] = append(byName[ev.Name], v)
	}
	for _, ev := range got {
		if !slices.Contains(keysOf, ev.Name) {
			continue
		}
		var v any
		_ = json.Unmarshal([]byte(ev.Data), &v)
		if ws := byName[ev.Name]; len(ws) > 0 && !matchesAny(ev.Name, ws, v) {
			tb.Errorf("%s: event %s data %.300s matches no fixture event: %v", fixture, ev.Name, ev.Data, structDiff(ev.Name, ws[0], v))
		}
	}
}

// demoFiles are uploads the simulator sniffs as each item type.
var demoFiles = map[string][]byte{
	"image": []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"),
	"audio": []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00"),
	"file":  []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
}

// TestObjectStringItemTypeMustMatchTheUpload: Coze hides an image sent as
// "file" from vision models (coze-protocol E9), so the simulator refuses any
// item whose type is not the uploaded file's kind, as a bad request.
func TestObjectStringItemTypeMustMatchTheUpload(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	ids := map[string]string{}
	names := map[string]string{"image": "photo.png", "audio": "voice.wav", "file": "report.pdf"}
	for kind, data := range demoFiles {
		up, raw := e.upload(t, tok, "file", map[string][]byte{names[kind]: data})
		if code(up) != 0 {
			t.Fatalf("upload %s: %s", kind, raw)
		}
		ids[kind] = str(dataMap(up), "id")
	}
	for _, uploaded := range []string{"image", "audio", "file"} {
		for _, sent := range []string{"image", "audio", "file"} {
			t.Run(uploaded+" sent as "+sent, func(t *testing.T) {
				body := objectBody(BotAssistant, map[string]any{"type": "text", "text": "what is this?"}, map[string]any{"type": sent, "file_id": ids[uploaded]})
				_, h, b := e.do(t, http.MethodPost, "/v3/chat", tok, body)
				isStream := strings.HasPrefix(h.Get("Content-Type"), "text/event-stream")
				if uploaded == sent {
					if !isStream {
						t.Errorf("refused: %s", b)
					}
					return
				}
				var m map[string]any
				_ = json.Unmarshal(b, &m)
				if isStream || code(m) != 4000 || !strings.Contains(str(m, "msg"), `"`+uploaded+`"`) {
					t.Errorf("mismatch not refused with 4000 naming %q: %s", uploaded, b)
				}
			})
		}
	}
}
