package cozesim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// turn is one message of chat context.
type turn struct {
	Role, Text string
	Items      []contentItem
}

// toolCall is what a requires_action chat waits for: a local plugin
// ("function", answered with submit_tool_outputs) or a workflow question node
// ("reply_message": the user answers; coze-py cozepy/chat ChatToolCallType).
type toolCall struct {
	ID, Type, Name, Arguments string
	Question                  *question // Type "reply_message"
}

func (t *toolCall) content() string {
	return string(compactJSON(map[string]any{"name": t.Name, "arguments": json.RawMessage(t.Arguments), "plugin_type": 1,
		"thought": "需要调用本地工具 / calling a local tool"}))
}

func (t *toolCall) requiredAction() ordered {
	call := ordered{{"id", t.ID}, {"type", "function"}, {"function", ordered{{"name", t.Name}, {"arguments", t.Arguments}}}}
	if t.Type == "reply_message" {
		// A question node: no id, no function; the question is the card
		// answer before it (fixture chat_stream_question.sse).
		call = ordered{{"id", ""}, {"type", "reply_message"}, {"function", nil}, {"require_info", nil}}
	}
	return ordered{{"type", "submit_tool_outputs"}, {"submit_tool_outputs", ordered{{"tool_calls", []ordered{call}}}}}
}

// replyPlan is what a chat will produce; see doc.go for the rules.
type replyPlan struct {
	Answer     string
	FollowUps  []string
	ToolCall   *toolCall
	Fail       *lastError
	Card       bool // answer is a card (content_type "card"): completed only, no deltas
	Chunk      int  // fixed delta size in runes (0 = 2–12 varying)
	Slow       bool // Slow Storyteller pacing
	InputCount int
	// Reasoning is a deep-thinking model's chain of thought: streamed as
	// reasoning_content deltas (content "") before the answer, and repeated
	// on the completed answer (coze-protocol E12).
	Reasoning string
	// Knowledge is the content of a verbose knowledge_recall message,
	// completed before the answer (coze-protocol §16.3, E12).
	Knowledge string
	// CardsBefore and CardsAfter are card answers (content_type "card",
	// completed only) sent before and after the main answer (multi-answer,
	// coze-protocol §16.3).
	CardsBefore, CardsAfter []string
	// TextsAfter are more text answers after the cards (a question asked
	// as text when the request did not set enable_card).
	TextsAfter []string
	// Audio: the user's input held audio, so the answer is also spoken as
	// conversation.audio.delta events after chat.completed (coze-protocol E12).
	Audio bool

	msgs   []*message // allocated by allocPlanLocked
	answer *message
}

var chunkRe = regexp.MustCompile(`(?i)chunk=(\d{1,3})`)

// platformBusy is a 9-digit platform error as real Coze sends it
// (coze-protocol E7: coze-java#47).
var platformBusy = lastError{Code: 702042078, Msg: "We're currently experiencing server issues. Please try again later."}

// planReply decides the bot's reply from the conversation context and query.
// pending is the question the bot's workflow asked in the conversation's
// previous chat (nil when none is waiting for an answer).
func (s *Sim) planReply(b *bot, hist []turn, q turn, pending *toolCall) *replyPlan {
	p := &replyPlan{InputCount: runeLen(q.Text) + 20, Audio: hasAudio(q.Items)}
	for _, h := range hist {
		p.InputCount += runeLen(h.Text)
	}
	if m := chunkRe.FindStringSubmatch(q.Text); m != nil {
		p.Chunk, _ = strconv.Atoi(m[1])
	}
	lower := strings.ToLower(q.Text)
	switch {
	case strings.Contains(lower, "#fail"):
		p.Fail = &lastError{Code: 5000, Msg: "event interval error"}
		return p
	case strings.Contains(lower, "#busy") || strings.Contains(q.Text, "服务器繁忙"):
		e := platformBusy
		p.Fail = &e
		return p
	case b.Kind != kindXSS && (strings.Contains(lower, "#tool") || strings.Contains(lower, "weather tool") || strings.Contains(q.Text, "天气工具")):
		city := "南京"
		if i := strings.Index(lower, "city="); i >= 0 {
			city = strings.Fields(q.Text[i+5:] + " ")[0]
		}
		p.ToolCall = &toolCall{ID: "call_" + randomString(24), Type: "function", Name: "local_weather",
			Arguments: string(compactJSON(map[string]any{"location": city, "type": 0}))}
		return p
	}
	if strings.Contains(lower, "#card") {
		p.Card = true
		p.Answer = hostileCard()
		p.FollowUps = []string{"#card again", "show markdown", "all payloads"}
		return p
	}
	switch b.Kind {
	case kindThinking:
		p.Reasoning, p.Answer, p.FollowUps = thinkingReply(q.Text)
	case kindCard:
		var card string
		card, p.Answer, p.FollowUps = s.cardReply(q.Text)
		p.CardsBefore = []string{card}
	case kindQuestion:
		s.questionReply(p, q.Text, pending)
	case kindMath:
		p.Knowledge = mathKnowledge
		p.Answer, p.FollowUps = mathReply(lower)
	case kindMemory:
		p.Answer, p.FollowUps = memoryReply(hist, q)
	case kindXSS:
		p.Answer, p.FollowUps = xssReply(lower)
	case kindSlow:
		p.Answer, p.FollowUps = storyReply(q.Text), []string{"继续讲 / Continue the story", "Tell a shorter one", "换个主角 / A different hero"}
		p.Slow = true
	default:
		p.Answer = s.markdownReply(q)
		p.FollowUps = []string{"能再详细一点吗？ / Can you elaborate?", "Show me the Go code again", "再来一张表格 / Another table"}
	}
	return p
}

// cardWithheld stands in for a card answer when the request did not set
// enable_card. The wording is the simulator's own (no capture shows what
// Coze sends then); it exists so a client that forgets enable_card sees
// plain text where it expected a card.
const cardWithheld = "（这里本应是一张卡片，但请求没有设置 enable_card）/ (A card would be here, but the request did not set enable_card.)"

// withoutCards turns p into the reply to a /v3/chat without enable_card
// (coze-protocol §15.1: "question-node output as card" only when asked; the
// SDKs send it only when set: coze-go chats.go CreateChatsReq.EnableCard,
// coze-py cozepy/chat/__init__.py stream(enable_card=…)). A workflow
// question arrives as a plain text answer listing its options and the chat
// still ends in requires_action; other card answers are left out, and an
// answer that is itself a card becomes cardWithheld. Coze documents only
// the question node; gating the other cards too keeps the simulator at
// least as strict as Coze.
func (p *replyPlan) withoutCards() {
	p.CardsBefore, p.CardsAfter = nil, nil
	if p.Card {
		p.Card, p.Answer = false, cardWithheld
	}
	if p.ToolCall != nil && p.ToolCall.Question != nil {
		p.TextsAfter = append(p.TextsAfter, p.ToolCall.Question.text())
	}
}

// text is the question as a plain text answer: the title, then one option
// a line. The layout is the simulator's own; Coze's text form of a question
// with options is not captured.
func (q *question) text() string {
	var b strings.Builder
	b.WriteString(q.Title)
	b.WriteString("\n")
	for _, o := range q.Options {
		b.WriteString("\n- ")
		b.WriteString(o)
	}
	return b.String()
}

func (s *Sim) markdownReply(q turn) string {
	var b strings.Builder
	b.WriteString("## 回答 / Answer\n\n")
	fmt.Fprintf(&b, "你问的是 / You asked: **%s**\n\n", q.Text)
	if len(q.Items) > 0 {
		var names []string
		for _, it := range q.Items {
			if it.Type == "text" {
				continue
			}
			ref := it.FileID
			if ref == "" {
				ref = it.FileURL
			}
			if f := s.files[it.FileID]; f != nil {
				ref = f.Name
			}
			names = append(names, it.Type+" "+ref)
		}
		fmt.Fprintf(&b, "我收到了 %d 个附件 / I received %d attachment(s): %s\n\n", len(names), len(names), strings.Join(names, ", "))
	}
	b.WriteString("- 第一点：问题已收到 / First: got your question\n")
	b.WriteString("- 第二点：这是模拟器的回答 / Second: this is a simulated answer\n")
	b.WriteString("- Third: replies are deterministic\n\n")
	b.WriteString("| 项目 / Item | 值 / Value |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| 字符数 / Characters | %d |\n| 词数 / Words | %d |\n\n", runeLen(q.Text), len(strings.Fields(q.Text)))
	b.WriteString("```go\npackage main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"你好, Coze!\")\n}\n```\n\n")
	b.WriteString("更多信息见 / See the [Coze docs](https://www.coze.cn/open/docs/developer_guides).\n\n")
	fmt.Fprintf(&b, "![示意图 / diagram](%s)\n", s.assetURL("diagram.svg"))
	return b.String()
}

func memoryReply(hist []turn, q turn) (string, []string) {
	var earlier []string
	for _, h := range hist {
		if h.Role == "user" {
			earlier = append(earlier, "“"+h.Text+"”")
		}
	}
	n := len(earlier) + 1
	var b strings.Builder
	fmt.Fprintf(&b, "This is turn %d. 这是第 %d 轮。", n, n)
	if len(earlier) == 0 {
		b.WriteString(" You haven't told me anything before in this conversation. 你之前还没说过什么。")
	} else {
		fmt.Fprintf(&b, " Earlier you said: %s.", strings.Join(earlier, ", "))
	}
	fmt.Fprintf(&b, " Now you said: “%s”.", q.Text)
	return b.String(), []string{"What did I say first?", "这是第几轮？ / Which turn is this?", "Remember: my favourite colour is blue"}
}

// xssPayloads are the hostile answers of the XSS Lab (SECURITY-CATALOG #69).
var xssPayloads = []struct{ key, payload string }{
	{"script", `<script>window.__pwned=1</script>`},
	{"img", `<img src=x onerror="window.__pwned=1">`},
	{"link", `[click](javascript:window.__pwned=1)`},
	{"entity", `[tab](jav&#x09;ascript:window.__pwned=1)`},
	{"data", `[data](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+)`},
	{"iframe", `<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>`},
	{"svg", `<svg onload="window.__pwned=1"><circle r="10"/></svg>`},
	{"html", `<div style="position:fixed;inset:0;background:red" onclick="window.__pwned=1">raw <b>HTML</b> overlay</div>`},
	{"anchor", `<a href=//evil.example target=_blank>evil link</a>`},
	{"form", `<form action=//evil.example><button>submit</button></form>`},
	{"meta", `<meta http-equiv="refresh" content="0;url=//evil.example">`},
	{"base", `<base href="//evil.example/">`},
	{"mxss", `<noscript><p title="</noscript><img src=x onerror=window.__pwned=1>">`},
}

func xssReply(lower string) (string, []string) {
	var picked []string
	for _, p := range xssPayloads {
		if strings.Contains(lower, p.key) {
			picked = append(picked, p.payload)
		}
	}
	if len(picked) == 0 || strings.Contains(lower, "all") {
		picked = picked[:0]
		for _, p := range xssPayloads {
			picked = append(picked, p.payload)
		}
	}
	answer := "XSS Lab payloads:\n\n" + strings.Join(picked, "\n\n") + "\n"
	return answer, []string{xssPayloads[0].payload, xssPayloads[1].payload, xssPayloads[2].payload}
}

func storyReply(q string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# 故事 / A story\n\n你说：“%s”。那就讲一个故事吧。 / You said “%s”, so here is a story.\n\n", q, q)
	lines := []string{
		"从前，在一座被云雾环绕的山上，住着一位会写代码的老人。",
		"Once upon a time, on a mountain wrapped in clouds, lived an old programmer.",
		"他每天清晨都会泡一壶茶，然后打开终端。",
		"Every morning he brewed a pot of tea and opened his terminal.",
		"有一天，一条奇怪的消息流从山谷里传来，一个字一个字地出现。",
		"One day a strange stream of messages drifted up from the valley, word by word.",
	}
	for i := 0; i < 4; i++ {
		fmt.Fprintf(&b, "## 第 %d 章 / Chapter %d\n\n", i+1, i+1)
		for _, l := range lines {
			b.WriteString(l)
			b.WriteString(" ")
		}
		b.WriteString("\n\n")
	}
	b.WriteString("完。/ The end.\n")
	return b.String()
}

// fragments splits text into delta fragments: fixed size n runes, or 2–12
// runes chosen deterministically from the text. The Slow Storyteller aims
// for about 150 fragments.
func fragments(text string, n int, slow bool) []string {
	r := []rune(text)
	if len(r) == 0 {
		return []string{""}
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(text))
	seed := h.Sum64()
	lo, span := 2, 11
	if slow {
		avg := max(2, len(r)/150)
		lo, span = max(1, avg-2), 5
	}
	var out []string
	for i := 0; i < len(r); {
		size := n
		if size <= 0 {
			seed = seed*6364136223846793005 + 1442695040888963407
			size = lo + int((seed>>33)%uint64(span))
		}
		j := min(len(r), i+size)
		out = append(out, string(r[i:j]))
		i = j
	}
	return out
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }
