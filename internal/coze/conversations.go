package coze

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Conversation is ConversationData (coze-protocol §13.1).
type Conversation struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	CreatorID     string            `json:"creator_id"`
	LastSectionID string            `json:"last_section_id"`
	ConnectorID   string            `json:"connector_id"`
	CreatedAt     int64             `json:"created_at"`
	UpdatedAt     int64             `json:"updated_at"`
	MetaData      map[string]string `json:"meta_data,omitempty"`
}

// UnmarshalJSON accepts numeric or string timestamps and IDs and loose meta_data.
func (c *Conversation) UnmarshalJSON(b []byte) error {
	var w struct {
		ID            flexString `json:"id"`
		Name          string     `json:"name"`
		CreatorID     flexString `json:"creator_id"`
		LastSectionID flexString `json:"last_section_id"`
		ConnectorID   flexString `json:"connector_id"`
		CreatedAt     flexInt    `json:"created_at"`
		UpdatedAt     flexInt    `json:"updated_at"`
		MetaData      strMap     `json:"meta_data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Conversation{ID: string(w.ID), Name: w.Name, CreatorID: string(w.CreatorID),
		LastSectionID: string(w.LastSectionID), ConnectorID: string(w.ConnectorID),
		CreatedAt: int64(w.CreatedAt), UpdatedAt: int64(w.UpdatedAt), MetaData: w.MetaData}
	return nil
}

// CreateConversationRequest is the body of POST /v1/conversation/create (§13.1).
type CreateConversationRequest struct {
	BotID    string            `json:"bot_id,omitempty"`
	Name     string            `json:"name,omitempty"`
	Messages []EnterMessage    `json:"messages,omitempty"`
	MetaData map[string]string `json:"meta_data,omitempty"`
}

// ListConversationsParams selects conversations of a bot (§13.3).
type ListConversationsParams struct {
	BotID     string
	SortOrder string // "DESC" (default) or "ASC"
	PageNum   int
	PageSize  int // max 50
}

// ConversationPage is one page of conversations.
type ConversationPage struct {
	Conversations []Conversation `json:"conversations"`
	HasMore       bool           `json:"has_more"`
}

// CreateConversation creates a conversation: POST /v1/conversation/create.
func (c *Client) CreateConversation(ctx context.Context, ts TokenSource, r CreateConversationRequest) (Conversation, error) {
	var out Conversation
	err := c.callData(ctx, apiRequest{method: http.MethodPost, path: "/v1/conversation/create", body: r, src: ts, perm: "createConversation"}, &out)
	return out, err
}

// RetrieveConversation reads one: GET /v1/conversation/retrieve?conversation_id=.
func (c *Client) RetrieveConversation(ctx context.Context, ts TokenSource, convID string) (Conversation, error) {
	var out Conversation
	q := url.Values{"conversation_id": {convID}}
	err := c.callData(ctx, apiRequest{method: http.MethodGet, path: "/v1/conversation/retrieve", query: q, src: ts, perm: "retrieveConversation"}, &out)
	return out, err
}

// ListConversations lists a bot's conversations: GET /v1/conversations.
func (c *Client) ListConversations(ctx context.Context, ts TokenSource, p ListConversationsParams) (ConversationPage, error) {
	q := url.Values{}
	setIf(q, "bot_id", p.BotID)
	setIf(q, "sort_order", p.SortOrder)
	setIntIf(q, "page_num", p.PageNum)
	setIntIf(q, "page_size", p.PageSize)
	var out ConversationPage
	err := c.callData(ctx, apiRequest{method: http.MethodGet, path: "/v1/conversations", query: q, src: ts, perm: "listConversation"}, &out)
	return out, err
}

// RenameConversation sets the name: PUT /v1/conversations/{id} {"name"} (§13.4).
func (c *Client) RenameConversation(ctx context.Context, ts TokenSource, convID, name string) (Conversation, error) {
	body := struct {
		Name string `json:"name"`
	}{name}
	var out Conversation
	err := c.callData(ctx, apiRequest{method: http.MethodPut, path: "/v1/conversations/" + seg(convID), body: body, src: ts, perm: "editConversation"}, &out)
	return out, err
}

// DeleteConversation deletes it: DELETE /v1/conversations/{id} (no data, §13.5).
func (c *Client) DeleteConversation(ctx context.Context, ts TokenSource, convID string) error {
	return c.callData(ctx, apiRequest{method: http.MethodDelete, path: "/v1/conversations/" + seg(convID), src: ts, perm: "editConversation"}, nil)
}

// ClearConversation starts a new context section: POST /v1/conversations/{id}/clear with
// an empty body (§13.6). It returns the new section id.
func (c *Client) ClearConversation(ctx context.Context, ts TokenSource, convID string) (string, error) {
	var out struct {
		ID flexString `json:"id"`
	}
	err := c.callData(ctx, apiRequest{method: http.MethodPost, path: "/v1/conversations/" + seg(convID) + "/clear", src: ts, perm: "editConversation"}, &out)
	return string(out.ID), err
}
