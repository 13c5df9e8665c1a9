package coze

import (
	"encoding/json"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// MessageText decodes only what a relay reads of a message.delta or
// message.completed event: ID, Role, Type, Content, ContentType and
// ReasoningContent; every other field of the Message is left zero and not
// decoded. It is one pass over the data where Message is three (the event,
// then the message's own UnmarshalJSON, then each flexible field).
//
// It runs once per delta, so the usual flat object is read by a hand-written
// scanner (scanMessageText); whatever that scanner does not expect — invalid
// JSON, a field of the wrong type, a key that only matches by case — goes to
// encoding/json, which then also words the error. FuzzMessageText checks that
// both give the same result.
func (e Event) MessageText() (Message, error) {
	if m, ok := scanMessageText(e.Data); ok {
		return m, nil
	}
	return e.messageTextJSON()
}

// messageTextJSON is MessageText by encoding/json: the reference, and the fallback.
func (e Event) messageTextJSON() (Message, error) {
	var w struct {
		ID               flexString `json:"id"`
		Role             string     `json:"role"`
		Type             string     `json:"type"`
		Content          string     `json:"content"`
		ContentType      string     `json:"content_type"`
		ReasoningContent string     `json:"reasoning_content"`
	}
	if err := json.Unmarshal(e.Data, &w); err != nil {
		return Message{}, fmt.Errorf("coze: decode %s event: %w", e.Name, err)
	}
	return Message{ID: string(w.ID), Role: w.Role, Type: w.Type, Content: w.Content,
		ContentType: w.ContentType, ReasoningContent: w.ReasoningContent}, nil
}

// maxScanDepth bounds the nesting the scanner skips; deeper input goes to
// encoding/json (which has its own, higher, limit).
const maxScanDepth = 256

// scanMessageText reads b as encoding/json would into MessageText's struct, or
// reports !ok for anything it does not handle exactly like encoding/json; it
// never fails where encoding/json succeeds with another result.
func scanMessageText(b []byte) (m Message, ok bool) {
	s := textScanner{b: b}
	ok = s.object(func(key []byte) bool { return s.field(key, &m) })
	return m, ok
}

type textScanner struct {
	b []byte
	i int
}

// object reads a whole JSON object of plain keys (plainKey), calling value with
// the scanner at each value, which it must consume; nothing may follow the object.
func (s *textScanner) object(value func(key []byte) bool) bool {
	s.space()
	if !s.inner(value) {
		return false
	}
	return s.atEnd()
}

// inner reads one JSON object of plain keys at the scanner (see object).
func (s *textScanner) inner(value func(key []byte) bool) bool {
	if !s.take('{') {
		return false
	}
	s.space()
	if s.take('}') {
		return true
	}
	for {
		s.space()
		key, ok := s.plainKey()
		if !ok {
			return false
		}
		s.space()
		if !s.take(':') {
			return false
		}
		s.space()
		if !value(key) {
			return false
		}
		s.space()
		switch {
		case s.take(','):
		case s.take('}'):
			return true
		default:
			return false
		}
	}
}

func (s *textScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *textScanner) take(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *textScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *textScanner) atEnd() bool {
	s.space()
	return s.i == len(s.b)
}

// plainKey reads a key of lower-case ASCII without escapes: encoding/json matches
// any other key case-insensitively (even "ſ" to "s"), which the fallback does.
func (s *textScanner) plainKey() ([]byte, bool) {
	if !s.take('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c < 0x20 || c == '\\' || c >= utf8.RuneSelf || ('A' <= c && c <= 'Z'):
			return nil, false
		}
	}
	return nil, false
}

// field reads the value of key into m, or skips it for a key m has no field for.
func (s *textScanner) field(key []byte, m *Message) bool {
	var dst *string
	switch string(key) {
	case "id":
		return s.flexString(&m.ID)
	case "role":
		dst = &m.Role
	case "type":
		dst = &m.Type
	case "content":
		dst = &m.Content
	case "content_type":
		dst = &m.ContentType
	case "reasoning_content":
		dst = &m.ReasoningContent
	default:
		return s.skipValue(0)
	}
	switch s.peek() {
	case 'n': // null leaves a string field as it was
		return s.literal("null")
	case '"':
		v, ok := s.str()
		*dst = v
		return ok
	}
	return false // a type error: encoding/json words it
}

// flexString reads as flexString.UnmarshalJSON: a string, null as "", or a number
// or bool as its literal text.
func (s *textScanner) flexString(dst *string) bool {
	start := s.i
	var ok bool
	switch c := s.peek(); {
	case c == '"':
		*dst, ok = s.str()
		return ok
	case c == 'n':
		*dst = ""
		return s.literal("null")
	case c == 't':
		ok = s.literal("true")
	case c == 'f':
		ok = s.literal("false")
	case c == '-' || ('0' <= c && c <= '9'):
		ok = s.number()
	}
	if ok {
		*dst = string(s.b[start:s.i])
	}
	return ok
}

func (s *textScanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// number skips a JSON number.
func (s *textScanner) number() bool {
	s.take('-')
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.take('.') && !s.digits() {
		return false
	}
	if s.take('e') || s.take('E') {
		if !s.take('+') {
			s.take('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits skips one or more digits.
func (s *textScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// skipValue skips a valid JSON value.
func (s *textScanner) skipValue(depth int) bool {
	switch c := s.peek(); {
	case c == '"':
		return s.skipString()
	case c == '{' || c == '[':
		return depth < maxScanDepth && s.skipComposite(depth+1)
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	}
	return false
}

// skipComposite skips an object or array.
func (s *textScanner) skipComposite(depth int) bool {
	object := s.b[s.i] == '{'
	closing := byte(']')
	if object {
		closing = '}'
	}
	s.i++
	s.space()
	if s.take(closing) {
		return true
	}
	for {
		s.space()
		if object {
			if s.peek() != '"' || !s.skipString() {
				return false
			}
			s.space()
			if !s.take(':') {
				return false
			}
			s.space()
		}
		if !s.skipValue(depth) {
			return false
		}
		s.space()
		switch {
		case s.take(','):
		case s.take(closing):
			return true
		default:
			return false
		}
	}
}

// skipString skips a valid JSON string (any bytes but control characters, and
// only JSON's escapes).
func (s *textScanner) skipString() bool {
	s.i++
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			n, ok := s.escapeLen()
			if !ok {
				return false
			}
			s.i += n
		default:
			s.i++
		}
	}
	return false
}

// escapeLen is the length of the valid escape at s.i.
func (s *textScanner) escapeLen() (int, bool) {
	if s.i+1 >= len(s.b) {
		return 0, false
	}
	switch s.b[s.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		_, ok := hex4(s.b[s.i+2:])
		return 6, ok
	}
	return 0, false
}

// str reads a string value as encoding/json decodes it. Invalid UTF-8, which
// encoding/json replaces byte by byte, goes to the fallback.
func (s *textScanner) str() (string, bool) {
	s.i++
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return internText(s.b[start : s.i-1]), true
		case c < 0x20:
			return "", false
		case c == '\\':
			return s.strEscaped(start)
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				return "", false
			}
			s.i += n
		}
	}
	return "", false
}

// strEscaped goes on with a string that has an escape at s.i.
func (s *textScanner) strEscaped(start int) (string, bool) {
	var stack [128]byte
	out := append(stack[:0], s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(out), true
		case c < 0x20:
			return "", false
		case c == '\\':
			n, ok := s.escapeLen()
			if !ok {
				return "", false
			}
			out = s.appendEscape(out)
			s.i += n
		case c < utf8.RuneSelf:
			out = append(out, c)
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				return "", false
			}
			out = append(out, s.b[s.i:s.i+n]...)
			s.i += n
		}
	}
	return "", false
}

// appendEscape appends the valid escape at s.i decoded as encoding/json does; a
// surrogate pair spans two escapes, and it then moves s.i past the first.
func (s *textScanner) appendEscape(out []byte) []byte {
	switch e := s.b[s.i+1]; e {
	case 'b':
		return append(out, '\b')
	case 'f':
		return append(out, '\f')
	case 'n':
		return append(out, '\n')
	case 'r':
		return append(out, '\r')
	case 't':
		return append(out, '\t')
	case 'u':
	default:
		return append(out, e)
	}
	r, _ := hex4(s.b[s.i+2:])
	if !utf16.IsSurrogate(r) {
		return utf8.AppendRune(out, r)
	}
	// encoding/json: a pair decodes to one rune, anything else to U+FFFD, and the
	// escape after an unpaired surrogate is read on its own.
	next := s.b[s.i+6:]
	if len(next) >= 6 && next[0] == '\\' && next[1] == 'u' {
		if r2, ok := hex4(next[2:]); ok {
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				s.i += 6
				return utf8.AppendRune(out, dec)
			}
		}
	}
	return utf8.AppendRune(out, utf8.RuneError)
}

// hex4 reads four hex digits.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// internText returns the few values that role, type and content_type take without
// allocating (the compiler turns the switch into comparisons with no copy).
func internText(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "assistant":
		return "assistant"
	case "user":
		return "user"
	case "answer":
		return "answer"
	case "text":
		return "text"
	case "follow_up":
		return "follow_up"
	case "verbose":
		return "verbose"
	case "card":
		return "card"
	case "object_string":
		return "object_string"
	case "function_call":
		return "function_call"
	case "tool_response":
		return "tool_response"
	case "tool_output":
		return "tool_output"
	}
	return string(b)
}
