package benchkit

import (
	"bytes"
	"encoding/json"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
)

// Protocol is which chat stream a client reads. The simulator (directly or
// through nginx) speaks Coze's; coze2app relays its own events instead
// (docs/stream-contract.md). A benchmark says which one it expects, so a
// stream in the other one counts as broken rather than passing unnoticed.
type Protocol int

const (
	// Coze is Coze's chat stream (coze-protocol §16): conversation.* events.
	Coze Protocol = iota
	// App is coze2app's stream to the browser: chat, delta, end, ….
	App
)

func (p Protocol) String() string {
	if p == App {
		return "coze2app"
	}
	return "coze"
}

// Kind is what an event means to a benchmark, whatever its protocol.
type Kind int

const (
	Other     Kind = iota
	ChatIDs        // carries the chat's and conversation's ids
	Delta          // the next piece of the answer
	Completed      // the turn ended normally
	Failed         // the turn ended any other way, or the stream reported an error
)

// Kind classifies one event of protocol p.
func (p Protocol) Kind(name string, data []byte) Kind {
	if p == App {
		switch name {
		case chat.EventChat:
			return ChatIDs
		case chat.EventDelta:
			return Delta
		case chat.EventEnd:
			if bytes.Contains(data, []byte(`"status":"`+chat.EndCompleted+`"`)) {
				return Completed
			}
			return Failed
		}
		return Other
	}
	switch name {
	case coze.EventChatCreated:
		return ChatIDs
	case coze.EventMessageDelta:
		return Delta
	case coze.EventChatCompleted:
		return Completed
	case coze.EventChatFailed, coze.EventChatRequiresAction, coze.EventError:
		return Failed
	}
	return Other
}

// IDs reads the chat and conversation ids of a ChatIDs event without
// decoding the whole object: Coze's is a Chat object {"id","conversation_id",…},
// ours is {"conversation_id","chat_id"}.
func (p Protocol) IDs(data []byte) (chatID, convID string) {
	key := `"id":"`
	if p == App {
		key = `"chat_id":"`
	}
	return stringField(data, key), stringField(data, `"conversation_id":"`)
}

// DeltaText is the answer text a Delta event carries: Coze's message
// "content", our "text". Both sides of a relay hash it, so a relay that
// re-encodes the event still matches when the text is the same.
func (p Protocol) DeltaText(data []byte) string {
	var d struct {
		Content string `json:"content"`
		Text    string `json:"text"`
	}
	if json.Unmarshal(data, &d) != nil {
		return ""
	}
	if p == App {
		return d.Text
	}
	return d.Content
}

// stringField returns the value of a string field given as `"name":"`; ids
// never hold escapes.
func stringField(data []byte, key string) string {
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return ""
	}
	rest := data[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// Reason says why a Failed event ended a stream, without the ids that would
// make every stream's reason different: our end's status and code, or
// Coze's event name and error code.
func (p Protocol) Reason(name string, data []byte) string {
	var d struct {
		Status    string          `json:"status"`
		Code      json.RawMessage `json:"code"`
		LastError struct {
			Code json.RawMessage `json:"code"`
		} `json:"last_error"`
	}
	_ = json.Unmarshal(data, &d)
	code := d.Code
	if len(code) == 0 {
		code = d.LastError.Code
	}
	if p == App {
		return name + " " + d.Status + " " + string(code)
	}
	return name + " " + string(code)
}
