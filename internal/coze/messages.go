package coze

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
func (m *Message) UnmarshalJSON(b []byte) error {
	var w struct {
		ID               flexString `json:"id"`
		ConversationID   flexString `json:"conversation_id"`
		BotID            flexString `json:"bot_id"`
		ChatID           flexString `json:"chat_id"`
		SectionID        flexString `json:"section_id"`
		Role             string     `json:"role"`
		Type             string     `json:"type"`
		Content          string     `json:"content"`
		ContentType      string     `json:"content_type"`
		ReasoningContent string     `json:"reasoning_content"`
		MetaData         strMap     `json:"meta_data"`
		CreatedAt        flexInt    `json:"created_at"`
		UpdatedAt        flexInt    `json:"updated_at"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*m = Message{ID: string(w.ID), ConversationID: string(w.ConversationID), BotID: string(w.BotID),
		ChatID: string(w.ChatID), SectionID: string(w.SectionID), Role: w.Role, Type: w.Type,
		Content: w.Content, ContentType: w.ContentType, ReasoningContent: w.ReasoningContent,
		MetaData: w.MetaData, CreatedAt: int64(w.CreatedAt), UpdatedAt: int64(w.UpdatedAt)}
	return nil
}

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

// ListMessagesParams pages POST /v1/conversation/message/list (§14.5).
type ListMessagesParams struct {
	Order    string `json:"order,omitempty"` // desc (default) / asc
	ChatID   string `json:"chat_id,omitempty"`
	BeforeID string `json:"before_id,omitempty"`
	AfterID  string `json:"after_id,omitempty"`
	Limit    int    `json:"limit,omitempty"` // 1–50
}

// MessagePage is one page of messages; next page: AfterID = LastID while HasMore (§19 Q8).
type MessagePage struct {
	Messages []Message `json:"messages"`
	FirstID  string    `json:"first_id"`
	LastID   string    `json:"last_id"`
	HasMore  bool      `json:"has_more"`
}

func msgQuery(convID, msgID string) url.Values {
	q := url.Values{"conversation_id": {convID}}
	if msgID != "" {
		q.Set("message_id", msgID)
	}
	return q
}

// ListMessages lists messages. The paging fields are top-level siblings of data (§2).
func (c *Client) ListMessages(ctx context.Context, ts TokenSource, convID string, p ListMessagesParams) (MessagePage, error) {
	r := apiRequest{method: http.MethodPost, path: "/v1/conversation/message/list", query: msgQuery(convID, ""), body: p, src: ts, perm: "listMessage"}
	res, err := c.call(ctx, r)
	if err != nil {
		return MessagePage{}, err
	}
	var w struct {
		Data    []Message  `json:"data"`
		FirstID flexString `json:"first_id"`
		LastID  flexString `json:"last_id"`
		HasMore bool       `json:"has_more"`
	}
	if err := decodeBody(r, res, &w); err != nil {
		return MessagePage{}, err
	}
	return MessagePage{Messages: w.Data, FirstID: string(w.FirstID), LastID: string(w.LastID), HasMore: w.HasMore}, nil
}

// CreateMessage adds a message: POST /v1/conversation/message/create?conversation_id= (§14.4).
func (c *Client) CreateMessage(ctx context.Context, ts TokenSource, convID string, m EnterMessage) (Message, error) {
	var out Message
	err := c.callData(ctx, apiRequest{method: http.MethodPost, path: "/v1/conversation/message/create", query: msgQuery(convID, ""), body: m, src: ts, perm: "createMessage"}, &out)
	return out, err
}

// RetrieveMessage reads one: GET /v1/conversation/message/retrieve (§14.6).
func (c *Client) RetrieveMessage(ctx context.Context, ts TokenSource, convID, msgID string) (Message, error) {
	var out Message
	err := c.callData(ctx, apiRequest{method: http.MethodGet, path: "/v1/conversation/message/retrieve", query: msgQuery(convID, msgID), src: ts, perm: "retrieveMessage"}, &out)
	return out, err
}

// ModifyMessage changes content / content_type / meta_data (m.Role and m.Type are not
// sent): POST /v1/conversation/message/modify. The answer is under "message" (§2, §14.7).
func (c *Client) ModifyMessage(ctx context.Context, ts TokenSource, convID, msgID string, m EnterMessage) (Message, error) {
	body := struct {
		Content     string            `json:"content,omitempty"`
		ContentType string            `json:"content_type,omitempty"`
		MetaData    map[string]string `json:"meta_data,omitempty"`
	}{m.Content, m.ContentType, m.MetaData}
	r := apiRequest{method: http.MethodPost, path: "/v1/conversation/message/modify", query: msgQuery(convID, msgID), body: body, src: ts, perm: "modifyMessage"}
	res, err := c.call(ctx, r)
	if err != nil {
		return Message{}, err
	}
	var w struct {
		Message *Message `json:"message"`
		Data    *Message `json:"data"`
	}
	if err := decodeBody(r, res, &w); err != nil {
		return Message{}, err
	}
	switch {
	case w.Message != nil:
		return *w.Message, nil
	case w.Data != nil: // tolerate a server that uses the standard envelope
		return *w.Data, nil
	}
	return Message{}, nil
}

// DeleteMessage deletes a question/answer: POST with an empty body (§14.8); it returns the
// deleted message.
func (c *Client) DeleteMessage(ctx context.Context, ts TokenSource, convID, msgID string) (Message, error) {
	var out Message
	err := c.callData(ctx, apiRequest{method: http.MethodPost, path: "/v1/conversation/message/delete", query: msgQuery(convID, msgID), src: ts, perm: "deleteMessage"}, &out)
	return out, err
}
