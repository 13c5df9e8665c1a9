package coze

import (
	"bytes"
	"strconv"
)

// scanChat reads the data of a conversation.chat.* event as Chat.UnmarshalJSON
// would, or reports !ok for anything it does not read exactly alike; the caller
// then takes that path. Every chat event of a reply is decoded (created and
// in_progress for the ids, completed for the usage), and the loose decoder's
// map and reflection cost more than the rest of the event's way through the
// relay. It takes the shape Coze sends (coze-py tests/testdata/
// chat_text_stream_resp.txt): plain lower-case keys, ids as strings or
// numbers, integer times, last_error and usage as flat objects of integers and
// strings, required_action as any value, meta_data empty or null. FuzzScanChat
// checks it against the loose decoder.
func scanChat(b []byte) (c Chat, ok bool) {
	s := textScanner{b: b}
	ok = s.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return s.flexString(&c.ID)
		case "conversation_id":
			return s.flexString(&c.ConversationID)
		case "bot_id":
			return s.flexString(&c.BotID)
		case "status":
			return s.flexString(&c.Status)
		case "section_id":
			return s.flexString(&c.SectionID)
		case "created_at":
			return s.integer(&c.CreatedAt)
		case "completed_at":
			return s.integer(&c.CompletedAt)
		case "failed_at":
			return s.integer(&c.FailedAt)
		case "last_error":
			c.LastError = nil
			if s.literal("null") {
				return true
			}
			e := new(ChatError)
			c.LastError = e
			return s.chatError(e)
		case "usage":
			c.Usage = nil
			if s.literal("null") {
				return true
			}
			u := new(Usage)
			c.Usage = u
			return s.usage(u)
		case "required_action":
			start := s.i
			if !s.skipValue(0) {
				return false
			}
			c.RequiredAction = bytes.Clone(s.b[start:s.i])
			return true
		case "meta_data":
			switch {
			case s.literal("null"):
				c.MetaData = nil
			case s.literal("{}"):
				c.MetaData = map[string]string{}
			default:
				return false // a map of values: the loose decoder's strMap
			}
			return true
		}
		return s.skipValue(0)
	})
	if !ok {
		return Chat{}, false
	}
	if c.LastError != nil && *c.LastError == (ChatError{}) {
		c.LastError = nil
	}
	if !hasData(c.RequiredAction) {
		c.RequiredAction = nil
	}
	return c, true
}

// integer reads what flexInt reads as the same number: null as 0, or an integer
// literal that fits in int64. Strings, fractions and exponents are left to it.
func (s *textScanner) integer(dst *int64) bool {
	if s.literal("null") {
		*dst = 0
		return true
	}
	start := s.i
	if !s.number() || bytes.ContainsAny(s.b[start:s.i], ".eE") {
		return false
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	*dst = n
	return err == nil
}

// chatError reads last_error's object as ChatError's loose decoding does.
func (s *textScanner) chatError(e *ChatError) bool {
	return s.inner(func(key []byte) bool {
		switch string(key) {
		case "code":
			var n int64
			if !s.integer(&n) {
				return false
			}
			e.Code = int(n)
			return true
		case "msg":
			return s.flexString(&e.Msg)
		}
		return s.skipValue(0)
	})
}

// usage reads usage's object as Usage.UnmarshalJSON does, for counts given as
// integers (a null count means absent there: left to it).
func (s *textScanner) usage(u *Usage) bool {
	var token, output, input, outputTokens, inputTokens *int64
	count := func(dst **int64) bool {
		if s.peek() == 'n' {
			return false
		}
		n := new(int64)
		*dst = n
		return s.integer(n)
	}
	ok := s.inner(func(key []byte) bool {
		switch string(key) {
		case "token_count":
			return count(&token)
		case "output_count":
			return count(&output)
		case "input_count":
			return count(&input)
		case "output_tokens":
			return count(&outputTokens)
		case "input_tokens":
			return count(&inputTokens)
		}
		return s.skipValue(0)
	})
	if !ok {
		return false
	}
	pick := func(a, b *int64) int {
		switch {
		case a != nil:
			return int(*a)
		case b != nil:
			return int(*b)
		}
		return 0
	}
	u.OutputCount = pick(output, outputTokens)
	u.InputCount = pick(input, inputTokens)
	if token != nil {
		u.TokenCount = int(*token)
	} else {
		u.TokenCount = u.InputCount + u.OutputCount
	}
	return true
}
