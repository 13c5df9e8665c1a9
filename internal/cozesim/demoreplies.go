package cozesim

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Replies of the demo bots that show the message kinds a real bot sends
// besides plain answers: reasoning, cards, questions, math, knowledge, audio.

func hasAudio(items []contentItem) bool {
	for _, it := range items {
		if it.Type == "audio" {
			return true
		}
	}
	return false
}

// thinkingReply is the Thinking demo: a chain of thought, then a short answer.
func thinkingReply(q string) (reasoning, answer string, followUps []string) {
	var r strings.Builder
	fmt.Fprintf(&r, "用户问的是：“%s”。 / The user asks: “%s”.\n\n", q, q)
	r.WriteString("先拆解问题：需要给出结论，再解释原因。 / First, break it down: give the conclusion, then the reason.\n")
	r.WriteString("1. 这是一个演示用的深度思考模型。 / 1. This is a demo deep-thinking model.\n")
	r.WriteString("2. 思考过程单独流式输出，回答的 content 在此期间为空。 / 2. The reasoning streams on its own; the answer's content stays empty meanwhile.\n")
	r.WriteString("3. 最后给出简洁的回答。 / 3. Finally, answer concisely.\n")
	var a strings.Builder
	a.WriteString("**结论 / Answer:** ")
	fmt.Fprintf(&a, "我想过了“%s”。 / I have thought about “%s”.\n\n", q, q)
	a.WriteString("- 思考过程在上面，可以折叠。 / The reasoning is above and can be folded.\n")
	a.WriteString("- 这段回答在思考结束后才开始。 / This answer started after the reasoning ended.\n")
	return r.String(), a.String(), []string{"再想一想 / Think again", "Show your reasoning for 17 × 23", "为什么？ / Why?"}
}

// Math demo -----------------------------------------------------------------

// mathReply answers with inline $…$ and display $$…$$ math; words of the
// question pick a topic, anything else gets all of them.
func mathReply(lower string) (string, []string) {
	topics := []struct {
		keys []string
		text string
	}{
		{[]string{"pythag", "勾股", "triangle", "三角"}, "### 勾股定理 / Pythagorean theorem\n\n" +
			"直角三角形中 / In a right triangle, $a^2 + b^2 = c^2$; with $a = 3$ and $b = 4$ we get $c = \\sqrt{3^2 + 4^2} = 5$.\n\n" +
			"$$c = \\sqrt{a^2 + b^2}$$\n"},
		{[]string{"x^2", "quadratic", "方程", "solve"}, "### 二次方程 / Quadratic equation\n\n" +
			"For $ax^2 + bx + c = 0$ with $a \\neq 0$:\n\n" +
			"$$x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$$\n\n" +
			"所以 / so $x^2 - 5x + 6 = 0$ gives $x_1 = 2$ and $x_2 = 3$.\n"},
		{[]string{"euler", "欧拉", "e^"}, "### 欧拉恒等式 / Euler's identity\n\n" +
			"$$e^{i\\pi} + 1 = 0$$\n\n" +
			"它来自 / It follows from $e^{i\\theta} = \\cos\\theta + i\\sin\\theta$ at $\\theta = \\pi$.\n"},
	}
	var parts []string
	for _, t := range topics {
		for _, k := range t.keys {
			if strings.Contains(lower, k) {
				parts = append(parts, t.text)
				break
			}
		}
	}
	if len(parts) == 0 {
		for _, t := range topics {
			parts = append(parts, t.text)
		}
	}
	answer := "## 公式 / Formulas\n\n" + strings.Join(parts, "\n") +
		"\n求和 / A sum: $$\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}$$\n\n" +
		"价格不是公式 / Prices are not math: a coffee costs $5 and a cake $10.\n"
	return answer, []string{"勾股定理 / Pythagorean theorem", "Solve x^2 - 5x + 6 = 0", "欧拉公式 / Euler's identity"}
}

// mathKnowledge is the verbose knowledge_recall message of the Math demo
// (its knowledge base "formulas.md"), shaped like fixture
// chat_stream_verbose.sse: coze-studio
// backend/domain/conversation/message/entity/knowledge.go VerboseInfo
// {msg_type, data} with data a JSON string {chunks, ori_req, status_code}.
var mathKnowledge = string(compactJSON(ordered{
	{"msg_type", "knowledge_recall"},
	{"data", string(compactJSON(ordered{
		{"chunks", []ordered{
			formulaChunk("勾股定理：直角三角形两直角边的平方和等于斜边的平方，a^2 + b^2 = c^2。 / Pythagoras: a^2 + b^2 = c^2.", 0.92),
			formulaChunk("一元二次方程求根公式 / Quadratic formula: x = (-b ± sqrt(b^2 - 4ac)) / 2a.", 0.81),
		}},
		{"ori_req", ""},
		{"status_code", 0},
	}))},
}))

// formulaChunk is one recalled slice of the math bot's knowledge base "formulas.md".
func formulaChunk(slice string, score float64) ordered {
	return ordered{{"slice", slice},
		{"score", score},
		{"meta", ordered{
			{"dataset", ordered{{"id", "7396000000000000001"}, {"name", "数学公式 / Math formulas"}}},
			{"document", ordered{{"id", "7397000000000000001"}, {"name", "formulas.md"}, {"format_type", 0}, {"source_type", 0}}},
			{"link", ordered{{"title", ""}, {"url", ""}}},
			{"card", ordered{{"title", ""}, {"index", ""}}},
		}}}
}

// Audio ---------------------------------------------------------------------

// audioChunks is the spoken answer: base64 PCM 24 kHz s16le mono (the format
// for wav input, coze-protocol §16.2), a short 440 Hz tone in n chunks of
// 20 ms. Real chunks are much larger; the shape is the same.
func audioChunks(n int) []string {
	const rate, freq, samples = 24000, 440.0, 480
	out := make([]string, n)
	for c := range n {
		buf := make([]byte, samples*2)
		for i := range samples {
			t := float64(c*samples+i) / rate
			v := int16(8000 * math.Sin(2*math.Pi*freq*t))
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(v))
		}
		out[c] = base64.StdEncoding.EncodeToString(buf)
	}
	return out
}

// Cards ---------------------------------------------------------------------

// cardComponent is one element of a card DSL: a @flowpd/cici-components
// component with its props (fixture chat_stream_card.sse; the components'
// props are the fixture's reading, coze-protocol E12).
type cardComponent struct {
	ID, Name string // Name: Text, Image, Button
	Props    ordered
}

// cardEnvelope is a card answer's content: the envelope of coze-studio
// backend/application/workflow/chatflow.go (renderQACardDSL) with the DSL
// as a JSON string in "data".
func cardEnvelope(data, xProperties ordered) string {
	return string(compactJSON(ordered{
		{"card_type", 3}, {"content_type", 50}, {"response_type", "card"},
		{"template_id", int64(7383997384420262000)}, {"template_url", ""},
		{"data", string(compactJSON(data))}, {"x_properties", xProperties},
	}))
}

// cardDSL lays the components out in a PageContainer root.
func cardDSL(children []string, comps []cardComponent, variables ordered) ordered {
	if children == nil {
		children = []string{}
		for _, c := range comps {
			children = append(children, c.ID)
		}
	}
	elements := ordered{{"root", ordered{
		{"id", "root"}, {"name", "Root"}, {"type", "@flowpd/cici-components/PageContainer"},
		{"props", ordered{{"backgroundColor", "grey"}, {"containerPadding", 16}, {"containerRowGap", 12}}},
		{"children", children}, {"directives", ordered{}},
	}}}
	for _, c := range comps {
		elements = append(elements, field{c.ID, ordered{
			{"id", c.ID}, {"name", "FlowpdCiciComponents" + c.Name}, {"type", "@flowpd/cici-components/" + c.Name},
			{"props", c.Props}, {"children", []string{}}, {"directives", ordered{}},
		}})
	}
	return ordered{{"elements", elements}, {"rootID", "root"}, {"variables", variables}, {"actions", ordered{}}}
}

func cardText(id, content string, title bool) cardComponent {
	props := ordered{{"content", content}, {"fontSize", "medium"}}
	if title {
		props = ordered{{"content", content}, {"fontSize", "large"}, {"fontWeight", "bold"}}
	}
	return cardComponent{ID: id, Name: "Text", Props: props}
}

func cardImage(id, src string) cardComponent {
	return cardComponent{ID: id, Name: "Image", Props: ordered{{"src", src}, {"ratio", "16:9"}}}
}

func cardLinkButton(id, text, url string) cardComponent {
	return cardComponent{ID: id, Name: "Button", Props: ordered{{"content", text}, {"type", "secondary"}, {"actionType", "enableUrl"}, {"url", url}}}
}

func cardMessageButton(id, text, message string) cardComponent {
	return cardComponent{ID: id, Name: "Button", Props: ordered{{"content", text}, {"type", "primary"}, {"actionType", "enableMessage"}, {"message", message}}}
}

// cardReply is the Card demo: a card (title, text, image, a link button and
// two message buttons), then a short text answer, as in the fixture.
func (s *Sim) cardReply(q string) (card, answer string, followUps []string) {
	card = cardEnvelope(cardDSL(nil, []cardComponent{
		cardText("CdTitle001", "卡片演示 / Card demo", true),
		cardText("CdText0002", "你说 / You said: “"+q+"”. 这是一张卡片，不是 Markdown。 / This is a card, not Markdown.", false),
		cardImage("CdImage003", s.assetURL("diagram.svg")),
		cardLinkButton("CdLink0004", "Coze 文档 / Coze docs", "https://www.coze.cn/open/docs/developer_guides"),
		cardMessageButton("CdMsg00005", "再来一张 / Another card", "再来一张 / Another card"),
		cardMessageButton("CdMsg00006", "Weather card for Beijing", "Weather card for Beijing"),
	}, ordered{}), ordered{})
	return card, "这是你要的卡片。 / Here is your card.", []string{"再来一张 / Another card", "Weather card for Beijing", "推荐一本书 / Recommend a book"}
}

// hostileCard is the "#card" answer of any bot: the card's strings and URLs
// carry XSS payloads (SECURITY-CATALOG #69).
func hostileCard() string {
	return cardEnvelope(cardDSL(nil, []cardComponent{
		cardText("HcTitle001", "Card "+xssPayloads[1].payload, true),
		cardText("HcText0002", xssPayloads[0].payload, false),
		cardImage("HcImage003", "javascript:window.__pwned=1"),
		cardLinkButton("HcLink0004", `<b onmouseover="window.__pwned=1">link</b>`, "javascript:window.__pwned=1"),
		cardMessageButton("HcMsg00005", xssPayloads[1].payload, xssPayloads[1].payload),
	}, ordered{}), ordered{})
}

// Question demo -------------------------------------------------------------

// question is a workflow question node with options.
type question struct {
	Title   string
	Options []string
}

var drinkQuestion = question{Title: "你想喝点什么？ / What would you like to drink?",
	Options: []string{"咖啡 / Coffee", "茶 / Tea", "果汁 / Juice"}}

// match returns the option the reply picks: the option itself or one of its
// " / "-separated names, case-insensitive.
func (q *question) match(reply string) string {
	r := strings.ToLower(strings.TrimSpace(reply))
	for _, o := range q.Options {
		if r == strings.ToLower(o) {
			return o
		}
		for _, name := range strings.Split(o, " / ") {
			if r == strings.ToLower(strings.TrimSpace(name)) {
				return o
			}
		}
	}
	return ""
}

// card is the question card (fixture chat_stream_question.sse): the DSL
// carries the options as a list variable, and x_properties.workflow_card_info
// (a JSON string) carries Title and Options, which is what clients read
// (coze-js chat-sdk extract-chatlow-message.ts).
func (q *question) card() string {
	list := []ordered{}
	opts := []ordered{}
	for _, o := range q.Options {
		list = append(list, ordered{{"key", o}})
		opts = append(opts, ordered{{"name", o}})
	}
	dsl := cardDSL([]string{"OpfZnYNHby", "70zV0Jp5vy"}, nil, ordered{{"5fJt3qKpSz", ordered{
		{"id", "5fJt3qKpSz"}, {"name", "list"}, {"defaultValue", ordered{{"description", q.Title}, {"list", list}}},
	}}})
	info := compactJSON(ordered{{"card_type", "QUESTION"}, {"question_card_data", ordered{{"Title", q.Title}, {"Options", opts}}}})
	return cardEnvelope(dsl, ordered{{"workflow_card_info", string(info)}})
}

// questionReply is the Question demo, a drink-order workflow: the first turn
// asks (a text answer, the question card, then requires_action with a
// reply_message tool call); a reply naming an option finishes the workflow;
// any other reply asks again.
func (s *Sim) questionReply(p *replyPlan, reply string, pending *toolCall) {
	intro := "好的，我来帮你点饮料。 / Happy to help with your drink order."
	if pending != nil && pending.Question != nil {
		if o := pending.Question.match(reply); o != "" {
			p.Answer = "好的，一杯" + strings.Split(o, " / ")[0] + "马上就好！ / One " +
				strings.ToLower(o[strings.LastIndex(o, " / ")+3:]) + ", coming right up!"
			p.FollowUps = []string{"再点一杯 / Order another drink", "多少钱？ / How much is it?", "谢谢 / Thanks"}
			return
		}
		intro = "“" + reply + "”不在选项里，请选一个。 / “" + reply + "” is not one of the options; please pick one."
	}
	q := drinkQuestion
	p.Answer = intro
	p.CardsAfter = []string{q.card()}
	// The tool call carries no question: the question is the card before it.
	p.ToolCall = &toolCall{Type: "reply_message", Question: &q}
}
