package chat

import (
	"encoding/json"
	"net/url"
	"strings"
	"unicode"
)

// Card is our own, safe shape of a Coze card answer (content_type "card"): plain strings
// and https URLs only, built field by field from Coze's card JSON. The page renders it
// as text; nothing of Coze's card reaches the browser unread. A card we cannot read is
// {"unknown":true}.
type Card struct {
	Title    string   `json:"title,omitempty"`
	Text     string   `json:"text,omitempty"`
	ImageURL string   `json:"image_url,omitempty"`
	Links    []Link   `json:"links,omitempty"`
	Options  []string `json:"options,omitempty"`
	Unknown  bool     `json:"unknown,omitempty"`
}

// Link is a titled https link of a card.
type Link struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// Question is a workflow question node asking the user, with the choices it offers
// (Options is empty for a free-text question).
type Question struct {
	Text    string   `json:"text"`
	Options []string `json:"options"`
}

// Bounds on what one card may carry; the rest is dropped.
const (
	maxCardTitleRunes  = 200
	maxCardTextRunes   = 4000
	maxCardItems       = 10 // links, options
	maxItemRunes       = 200
	maxURLBytes        = 2048
	maxCardNodes       = 500
	maxCardDepth       = 32
	maxCardsPerReply   = 20
	maxQuestionRunes   = 2000
	maxCardSourceBytes = 256 << 10 // card JSON larger than this is not parsed
)

// translateCard reads the JSON content of a Coze card answer. It returns a question when
// the card is a workflow question node's (then card is nil), else a card — {Unknown:true}
// when nothing readable is in it.
//
// Shapes read (coze-protocol §16.2, fixtures chat_stream_card.sse / chat_stream_question.sse):
//   - the envelope {card_type, content_type, response_type:"card", template_id,
//     template_url, data:"<card DSL JSON>", x_properties:{…}} (coze-studio
//     backend/application/workflow/chatflow.go renderQACardDSL);
//   - a question node: x_properties.workflow_card_info is a JSON string
//     {"card_type":"QUESTION","question_card_data":{"Title":…,"Options":[{"name":…}]}}
//     (read the same way by coze-js packages/chat-sdk …/extract-chatlow-message.ts);
//   - coze-studio's agent form of a question: {"type":"question","content_type":"option",
//     "content":{"question":…,"options":[{"name":…}]}} (message_builder.go
//     processQuestionInterruptData);
//   - the DSL in data: {"elements":{id:{type,props,children}},"rootID":…}, walked from the
//     root; components "…/Text" give title and text, "…/Image" the image, "…/Button" a link
//     (actionType "enableUrl" with an https url) or an option (actionType "enableMessage").
func translateCard(content string) (*Card, *Question) {
	unknown := &Card{Unknown: true}
	if len(content) > maxCardSourceBytes {
		return unknown, nil
	}
	// content_type is a number in the envelope (50) and a string in coze-studio's
	// question form ("option"), so it is read raw.
	var env struct {
		ContentType json.RawMessage `json:"content_type"`
		Content     json.RawMessage `json:"content"`
		Data        json.RawMessage `json:"data"`
		XProperties map[string]any  `json:"x_properties"`
	}
	if err := json.Unmarshal([]byte(content), &env); err != nil {
		return unknown, nil
	}
	if info, ok := env.XProperties["workflow_card_info"].(string); ok && info != "" {
		var w struct {
			CardType string `json:"card_type"`
			Question struct {
				Title   string `json:"Title"`
				Options []struct {
					Name string `json:"name"`
				} `json:"Options"`
			} `json:"question_card_data"`
		}
		if json.Unmarshal([]byte(info), &w) == nil && w.CardType == "QUESTION" {
			q := &Question{Text: plainText(w.Question.Title, maxQuestionRunes), Options: []string{}}
			for _, o := range w.Question.Options {
				q.addOption(o.Name)
			}
			if q.Text != "" || len(q.Options) > 0 {
				return nil, q
			}
		}
		// An INPUT card asks for a form this app cannot show.
		return unknown, nil
	}
	if string(env.ContentType) == `"option"` && len(env.Content) > 0 {
		var c struct {
			Question string `json:"question"`
			Options  []struct {
				Name string `json:"name"`
			} `json:"options"`
		}
		if json.Unmarshal(env.Content, &c) == nil {
			q := &Question{Text: plainText(c.Question, maxQuestionRunes), Options: []string{}}
			for _, o := range c.Options {
				q.addOption(o.Name)
			}
			if q.Text != "" || len(q.Options) > 0 {
				return nil, q
			}
		}
		return unknown, nil
	}
	var dsl string
	if json.Unmarshal(env.Data, &dsl) != nil || dsl == "" {
		return unknown, nil
	}
	card := cardFromDSL(dsl)
	if card == nil {
		return unknown, nil
	}
	return card, nil
}

func (q *Question) addOption(s string) {
	if s = plainText(s, maxItemRunes); s != "" && len(q.Options) < maxCardItems {
		q.Options = append(q.Options, s)
	}
}

// dslElement is one component of a card DSL.
type dslElement struct {
	Type     string         `json:"type"`
	Props    map[string]any `json:"props"`
	Children []string       `json:"children"`
}

// cardFromDSL walks the DSL tree in order and keeps what it can show safely; nil when
// nothing is left.
func cardFromDSL(src string) *Card {
	var d struct {
		Elements map[string]dslElement `json:"elements"`
		RootID   string                `json:"rootID"`
	}
	if json.Unmarshal([]byte(src), &d) != nil || len(d.Elements) == 0 {
		return nil
	}
	var (
		texts []string
		c     Card
		seen  = map[string]bool{}
		nodes = 0
	)
	var walk func(id string, depth int)
	walk = func(id string, depth int) {
		el, ok := d.Elements[id]
		if !ok || seen[id] || depth > maxCardDepth || nodes >= maxCardNodes {
			return
		}
		seen[id] = true
		nodes++
		kind := el.Type[strings.LastIndexByte(el.Type, '/')+1:]
		switch kind {
		case "Text":
			if s := plainText(propString(el.Props, "content"), maxCardTextRunes); s != "" {
				texts = append(texts, s)
			}
		case "Image":
			if c.ImageURL == "" {
				c.ImageURL = safeURL(propString(el.Props, "src"))
				if c.ImageURL == "" {
					c.ImageURL = safeURL(propString(el.Props, "url"))
				}
			}
		case "Button":
			label := plainText(propString(el.Props, "content"), maxItemRunes)
			switch propString(el.Props, "actionType") {
			case "enableUrl":
				if u := safeURL(propString(el.Props, "url")); u != "" && len(c.Links) < maxCardItems {
					if label == "" {
						label = u
					}
					c.Links = append(c.Links, Link{Text: label, URL: u})
				}
			case "enableMessage":
				if label != "" && len(c.Options) < maxCardItems {
					c.Options = append(c.Options, label)
				}
			}
		}
		for _, ch := range el.Children {
			walk(ch, depth+1)
		}
		// Layouts keep their children in slots: props.Columns[].children.
		if cols, ok := el.Props["Columns"].([]any); ok {
			for _, col := range cols {
				if m, ok := col.(map[string]any); ok {
					if chs, ok := m["children"].([]any); ok {
						for _, ch := range chs {
							if s, ok := ch.(string); ok {
								walk(s, depth+1)
							}
						}
					}
				}
			}
		}
	}
	root := d.RootID
	if root == "" {
		root = "root"
	}
	walk(root, 0)
	switch len(texts) {
	case 0:
	case 1:
		c.Text = texts[0]
	default:
		c.Title = cutRunes(strings.ReplaceAll(texts[0], "\n", " "), maxCardTitleRunes)
		c.Text = plainText(strings.Join(texts[1:], "\n"), maxCardTextRunes)
	}
	if c.Title == "" && c.Text == "" && c.ImageURL == "" && len(c.Links) == 0 && len(c.Options) == 0 {
		return nil
	}
	return &c
}

// propString returns props[key] when it is a plain string. Expressions
// ({"type":"expression","value":"{{var}}"}) and other values are not evaluated.
func propString(props map[string]any, key string) string {
	s, _ := props[key].(string)
	return s
}

// plainText makes a card string safe to store and show as text: valid UTF-8, no control
// characters but newlines and tabs, trimmed, at most n runes.
func plainText(s string, n int) string {
	s = cleanText(s)
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return -1
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return ' '
		}
		return r
	}, s)
	return cutRunes(strings.TrimSpace(s), n)
}

// safeURL returns u normalised when it is an absolute https URL with a host and no user
// info, else "". Everything else (javascript:, data:, http:, relative) is dropped.
func safeURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxURLBytes || strings.ContainsAny(raw, "\x00\r\n\t \\") {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	u.Scheme = "https"
	return u.String()
}
