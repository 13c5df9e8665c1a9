package cozesim

import (
	"encoding/json"
	"strings"
)

type message struct {
	ID, ConversationID, BotID, ChatID, SectionID string
	Role, Type, Content, ContentType             string
	ReasoningContent                             string // deep-thinking answers only
	MetaData                                     map[string]string
	CreatedAt, UpdatedAt                         int64
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
	return msg
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
