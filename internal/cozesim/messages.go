package cozesim

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

type message struct {
	ID, ConversationID, BotID, ChatID, SectionID string
	Role, Type, Content, ContentType             string
	ReasoningContent                             string // deep-thinking answers only
	MetaData                                     map[string]string
	CreatedAt, UpdatedAt                         int64
	Deleted                                      bool
}

// wire renders a Message (§14.1). withSection=false matches the modify/delete
// examples, which carry no section_id.
func (m *message) wire(withSection bool) ordered {
	o := ordered{
		{"id", m.ID}, {"conversation_id", m.ConversationID}, {"bot_id", m.BotID}, {"chat_id", m.ChatID},
		{"role", m.Role}, {"type", m.Type}, {"content", m.Content}, {"content_type", m.ContentType},
		{"meta_data", nonNilMap(m.MetaData)}, {"created_at", m.CreatedAt}, {"updated_at", m.UpdatedAt},
	}
	if withSection {
		o = append(o, field{"section_id", m.SectionID})
	}
	if m.ReasoningContent != "" {
		o = append(o, field{"reasoning_content", m.ReasoningContent}) // §14.1: only for deep-thinking models
	}
	return o
}

// enterMessage is the request shape (§14.2). Unknown fields (the Go SDK sends
// id, chat_id, created_at...) are ignored.
type enterMessage struct {
	Role        string            `json:"role"`
	Type        string            `json:"type"`
	Content     string            `json:"content"`
	ContentType string            `json:"content_type"`
	MetaData    map[string]string `json:"meta_data"`
}

type contentItem struct {
	Type    string `json:"type"`
	Text    string `json:"text"`
	FileID  string `json:"file_id"`
	FileURL string `json:"file_url"`
}

// validateEnterLocked checks an EnterMessage (§14.2, §14.3, §18.19).
// autoSave limits the allowed types.
func (s *Sim) validateEnterLocked(userID string, m enterMessage, autoSave bool) *apiError {
	if m.Role != "user" && m.Role != "assistant" {
		return errf(4000, "Request parameter error: role must be user or assistant")
	}
	switch m.Type {
	case "", "question", "answer":
		if m.Type == "question" && m.Role != "user" || m.Type == "answer" && m.Role != "assistant" {
			return errf(4000, "Request parameter error: type does not match role")
		}
	case "function_call", "tool_output", "tool_response":
		if autoSave {
			return errf(4000, "Request parameter error: type "+m.Type+" needs auto_save_history=false")
		}
	default:
		return errf(4000, "Request parameter error: type "+m.Type+" cannot be sent")
	}
	if m.Content != "" && m.ContentType == "" {
		return errf(4000, "Request parameter error: content_type is required")
	}
	if e := validMeta(m.MetaData); e != nil {
		return e
	}
	switch m.ContentType {
	case "", "text":
		return nil
	case "object_string":
		_, e := s.parseObjectStringLocked(userID, m.Content)
		return e
	default:
		return errf(4000, "Request parameter error: content_type "+m.ContentType+" cannot be sent")
	}
}

// parseObjectStringLocked validates multimodal content: a JSON string of
// items, at most one text item and then at least one image/file/audio,
// file_ids uploaded by the same user and sent as their uploaded kind.
func (s *Sim) parseObjectStringLocked(userID, content string) ([]contentItem, *apiError) {
	var items []contentItem
	if err := json.Unmarshal([]byte(content), &items); err != nil || len(items) == 0 {
		return nil, errf(4000, "Request parameter error: object_string content must be a JSON array of items")
	}
	texts, media := 0, 0
	for _, it := range items {
		switch it.Type {
		case "text":
			texts++
		case "image", "file", "audio":
			media++
			switch {
			case it.FileID != "":
				if f := s.files[it.FileID]; f == nil || f.OwnerID != userID {
					return nil, errf(4000, "Request parameter error: file_id "+it.FileID+" not found")
				}
				// An image sent as "file" is hidden from vision models, audio
				// sent as "file" is not heard (coze-protocol E9): be strict.
				if kind, known := s.fileKindLocked(it.FileID); known && kind != it.Type {
					return nil, errf(4000, "Request parameter error: file_id "+it.FileID+" is "+kind+
						", send it as an item of type \""+kind+"\", not \""+it.Type+"\"")
				}
			case it.FileURL == "":
				return nil, errf(4000, "Request parameter error: "+it.Type+" item needs file_id or file_url")
			}
		default:
			return nil, errf(4000, "Request parameter error: unknown item type "+it.Type)
		}
	}
	if texts > 1 {
		return nil, errf(4000, "Request parameter error: at most one text item")
	}
	if texts == 1 && media == 0 {
		return nil, errf(4000, "Request parameter error: a text item needs an image or file item; use content_type text")
	}
	return items, nil
}

// addMessageLocked stores m in c.
func (s *Sim) addMessageLocked(c *conversation, m enterMessage, chatID, botID string) *message {
	now := s.now().Unix()
	typ := m.Type
	if typ == "" {
		typ = "question"
		if m.Role == "assistant" {
			typ = "answer"
		}
	}
	ct := m.ContentType
	if ct == "" {
		ct = "text"
	}
	msg := &message{ID: s.newIDLocked(), ConversationID: c.ID, BotID: botID, ChatID: chatID, SectionID: c.LastSectionID,
		Role: m.Role, Type: typ, Content: m.Content, ContentType: ct, MetaData: m.MetaData, CreatedAt: now, UpdatedAt: now}
	c.Messages = append(c.Messages, msg)
	c.UpdatedAt = now
	if c.Name == "" && m.Role == "user" {
		c.Name = truncateRunes(textOf(m.Content, ct), 100)
	}
	return msg
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// textOf returns the text of a message (the text item of object_string).
func textOf(content, contentType string) string {
	if contentType != "object_string" {
		return content
	}
	var items []contentItem
	_ = json.Unmarshal([]byte(content), &items)
	var parts []string
	for _, it := range items {
		if it.Type == "text" {
			parts = append(parts, it.Text)
		}
	}
	return strings.Join(parts, " ")
}

func (c *conversation) findMessage(id string) *message {
	for _, m := range c.Messages {
		if m.ID == id && !m.Deleted {
			return m
		}
	}
	return nil
}

// POST /v1/conversation/message/create?conversation_id= (§14.4)
func (s *Sim) handleMsgCreate(w http.ResponseWriter, r *http.Request, t *accessToken) {
	var b enterMessage
	if e := decodeBody(r, &b); e != nil {
		fail(w, r, e)
		return
	}
	if b.Content == "" || b.ContentType == "" {
		fail(w, r, errf(4000, "Request parameter error: role, content and content_type are required"))
		return
	}
	s.withConv(w, r, t, r.URL.Query().Get("conversation_id"), func(c *conversation) {
		if e := s.validateEnterLocked(t.UserID, b, true); e != nil {
			fail(w, r, e)
			return
		}
		ok(w, r, s.addMessageLocked(c, b, "", "").wire(true))
	})
}

type listMsgBody struct {
	Order    string `json:"order"`
	ChatID   string `json:"chat_id"`
	BeforeID string `json:"before_id"`
	AfterID  string `json:"after_id"`
	Limit    int    `json:"limit"`
}

// POST /v1/conversation/message/list?conversation_id= (§14.5). Paging fields
// are top-level; cursors are relative to the returned order (§19 Q8 A).
func (s *Sim) handleMsgList(w http.ResponseWriter, r *http.Request, t *accessToken) {
	var b listMsgBody
	if e := decodeBody(r, &b); e != nil {
		fail(w, r, e)
		return
	}
	if b.Limit == 0 {
		b.Limit = 50
	}
	if b.Limit < 1 || b.Limit > 50 {
		fail(w, r, errf(4000, "Request parameter error: limit must be 1-50"))
		return
	}
	desc := b.Order != "asc"
	if b.Order != "" && b.Order != "asc" && b.Order != "desc" {
		fail(w, r, errf(4000, "Request parameter error: order must be asc or desc"))
		return
	}
	s.withConv(w, r, t, r.URL.Query().Get("conversation_id"), func(c *conversation) {
		var all []*message
		for _, m := range c.Messages {
			if m.Deleted || (m.Type != "question" && m.Type != "answer") || (b.ChatID != "" && m.ChatID != b.ChatID) {
				continue
			}
			if ch := s.chats[m.ChatID]; ch != nil && !ch.AutoSave {
				continue
			}
			all = append(all, m)
		}
		sort.SliceStable(all, func(i, j int) bool {
			if desc {
				return all[i].ID > all[j].ID
			}
			return all[i].ID < all[j].ID
		})
		// "comes before x in the returned order"
		before := func(id, x string) bool {
			if desc {
				return id > x
			}
			return id < x
		}
		var page []*message
		hasMore := false
		switch {
		case b.AfterID != "" && b.AfterID != "0":
			var rest []*message
			for _, m := range all {
				if before(b.AfterID, m.ID) {
					rest = append(rest, m)
				}
			}
			page = rest[:min(b.Limit, len(rest))]
			hasMore = len(rest) > b.Limit
		case b.BeforeID != "" && b.BeforeID != "0":
			var prev []*message
			for _, m := range all {
				if before(m.ID, b.BeforeID) {
					prev = append(prev, m)
				}
			}
			start := max(0, len(prev)-b.Limit)
			page = prev[start:]
			hasMore = start > 0
		default:
			page = all[:min(b.Limit, len(all))]
			hasMore = len(all) > b.Limit
		}
		data := make([]ordered, 0, len(page))
		for _, m := range page {
			data = append(data, m.wire(true))
		}
		first, last := "", ""
		if len(page) > 0 {
			first, last = page[0].ID, page[len(page)-1].ID
		}
		okFields(w, r, map[string]any{"data": data, "first_id": first, "last_id": last, "has_more": hasMore})
	})
}

// withMsg runs fn with the user's message from the query ids.
func (s *Sim) withMsg(w http.ResponseWriter, r *http.Request, t *accessToken, fn func(c *conversation, m *message)) {
	q := r.URL.Query()
	s.withConv(w, r, t, q.Get("conversation_id"), func(c *conversation) {
		m := c.findMessage(q.Get("message_id"))
		if m == nil {
			fail(w, r, errf(4005, "Invalid message_id "+q.Get("message_id")))
			return
		}
		fn(c, m)
	})
}

// GET /v1/conversation/message/retrieve (§14.6)
func (s *Sim) handleMsgRetrieve(w http.ResponseWriter, r *http.Request, t *accessToken) {
	s.withMsg(w, r, t, func(_ *conversation, m *message) { ok(w, r, m.wire(true)) })
}

// POST /v1/conversation/message/modify (§14.7): answers under "message".
func (s *Sim) handleMsgModify(w http.ResponseWriter, r *http.Request, t *accessToken) {
	var b enterMessage
	if e := decodeBody(r, &b); e != nil {
		fail(w, r, e)
		return
	}
	if b.Content == "" && b.MetaData == nil || b.Content != "" && b.ContentType == "" {
		fail(w, r, errf(4000, "Request parameter error: content (with content_type) or meta_data is required"))
		return
	}
	s.withMsg(w, r, t, func(_ *conversation, m *message) {
		if b.Content != "" {
			if b.ContentType == "object_string" {
				if _, e := s.parseObjectStringLocked(t.UserID, b.Content); e != nil {
					fail(w, r, e)
					return
				}
			}
			m.Content, m.ContentType = b.Content, b.ContentType
		}
		if b.MetaData != nil {
			if e := validMeta(b.MetaData); e != nil {
				fail(w, r, e)
				return
			}
			m.MetaData = b.MetaData
		}
		m.UpdatedAt = s.now().Unix()
		okFields(w, r, map[string]any{"message": m.wire(false)})
	})
}

// POST /v1/conversation/message/delete (§14.8): only question/answer;
// deleting an answer also deletes its chat's other non-question messages.
func (s *Sim) handleMsgDelete(w http.ResponseWriter, r *http.Request, t *accessToken) {
	s.withMsg(w, r, t, func(c *conversation, m *message) {
		if m.Type != "question" && m.Type != "answer" {
			fail(w, r, errf(4005, "Only question or answer messages can be deleted"))
			return
		}
		m.Deleted = true
		if m.Type == "answer" && m.ChatID != "" {
			for _, o := range c.Messages {
				if o.ChatID == m.ChatID && o.Type != "question" && o.Type != "answer" {
					o.Deleted = true
				}
			}
		}
		ok(w, r, m.wire(false))
	})
}
