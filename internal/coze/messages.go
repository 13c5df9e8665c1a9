package coze

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Message is a conversation message (coze-protocol §14.1), also the data of message events.
type Message struct {
	ID               string            `json:"id"`
	ConversationID   string            `json:"conversation_id"`
	BotID            string            `json:"bot_id"`
	ChatID           string            `json:"chat_id"`
	SectionID        string            `json:"section_id,omitempty"`
	Role             string            `json:"role"`
	Type             string            `json:"type"`
	Content          string            `json:"content"`
	ContentType      string            `json:"content_type"`
	ReasoningContent string            `json:"reasoning_content,omitempty"`
	MetaData         map[string]string `json:"meta_data,omitempty"`
	CreatedAt        int64             `json:"created_at,omitempty"`
	UpdatedAt        int64             `json:"updated_at,omitempty"`
}

// UnmarshalJSON accepts numeric or string timestamps and IDs and loose meta_data.
func (m *Message) UnmarshalJSON(b []byte) error { return decodeLoose(b, m) }

// EnterMessage is a message sent to Coze: chat additional_messages, conversation
// messages, message create (§14.2). Type "" is omitted (server default "question").
type EnterMessage struct {
	Role        string            `json:"role"`
	Type        string            `json:"type,omitempty"`
	Content     string            `json:"content"`
	ContentType string            `json:"content_type"`
	MetaData    map[string]string `json:"meta_data,omitempty"`
}

// ContentItem is one item of an object_string content (§14.3).
type ContentItem struct {
	Type    string `json:"type"` // text, image, file, audio
	Text    string `json:"text,omitempty"`
	FileID  string `json:"file_id,omitempty"`
	FileURL string `json:"file_url,omitempty"`
}

// Content types and message roles/types used in requests.
const (
	ContentTypeText         = "text"
	ContentTypeObjectString = "object_string"
	RoleUser                = "user"
	RoleAssistant           = "assistant"
	MessageTypeQuestion     = "question"
	MessageTypeAnswer       = "answer"
)

// ObjectStringContent encodes items as the JSON string that goes in content with
// content_type "object_string", enforcing §14.3: at most one text item, and a text item
// needs an image/file/audio item; media items need exactly one of file_id / file_url.
func ObjectStringContent(items []ContentItem) (string, error) {
	if len(items) == 0 {
		return "", errors.New("coze: object_string content needs at least one item")
	}
	texts, media := 0, 0
	for i, it := range items {
		switch it.Type {
		case "text":
			texts++
			if it.Text == "" || it.FileID != "" || it.FileURL != "" {
				return "", fmt.Errorf("coze: content item %d: text item needs text only", i)
			}
		case "image", "file", "audio":
			media++
			if (it.FileID == "") == (it.FileURL == "") || it.Text != "" {
				return "", fmt.Errorf("coze: content item %d: %s item needs exactly one of file_id, file_url", i, it.Type)
			}
		default:
			return "", fmt.Errorf("coze: content item %d: unknown type %q", i, it.Type)
		}
	}
	if texts > 1 {
		return "", errors.New("coze: object_string content allows at most one text item")
	}
	if texts == 1 && media == 0 {
		return "", errors.New("coze: a text item needs an image or file item; send plain text as content_type text")
	}
	b, err := json.Marshal(items)
	return string(b), err
}
