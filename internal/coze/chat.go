package coze

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Chat statuses (coze-protocol §15.6). Created and InProgress mean "running" (§19 Q20).
const (
	ChatCreated        = "created"
	ChatInProgress     = "in_progress"
	ChatCompleted      = "completed"
	ChatFailed         = "failed"
	ChatRequiresAction = "requires_action"
	ChatCanceled       = "canceled"
)

// ChatRequest is one chat turn, POST /v3/chat (§15.1).
type ChatRequest struct {
	BotID              string
	UserID             string
	ConversationID     string // sent in the query string
	AdditionalMessages []EnterMessage
	AutoSaveHistory    *bool // nil => true
	CustomVariables    map[string]string
	MetaData           map[string]string
	PublishStatus      string // "" => server default; "unpublished_draft" to chat with a draft
	// Parameters are the bot's input parameters. They always go as a JSON
	// object (omitted when nil), never a JSON-encoded string: coze-studio
	// refuses a string with "parameters field should be an object"
	// (coze-protocol E5).
	Parameters map[string]any
	// EnableCard asks for a workflow question node's options as a card
	// answer (x_properties.workflow_card_info); without it Coze sends the
	// question as a plain text answer (coze-protocol §15.1; coze-go chats.go
	// CreateChatsReq.EnableCard `json:"enable_card,omitempty"`, coze-py
	// cozepy/chat/__init__.py stream(enable_card=…)).
	EnableCard bool
}

// ChatError is a chat's last_error.
type ChatError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// Chat is the Chat object (§15.6). LastError is nil when Coze reports {"code":0,"msg":""}
// or null.
type Chat struct {
	ID             string            `json:"id"`
	ConversationID string            `json:"conversation_id"`
	BotID          string            `json:"bot_id,omitempty"`
	Status         string            `json:"status"`
	SectionID      string            `json:"section_id,omitempty"`
	CreatedAt      int64             `json:"created_at,omitempty"`
	CompletedAt    int64             `json:"completed_at,omitempty"`
	FailedAt       int64             `json:"failed_at,omitempty"`
	LastError      *ChatError        `json:"last_error,omitempty"`
	Usage          *Usage            `json:"usage,omitempty"`
	RequiredAction json.RawMessage   `json:"required_action,omitempty"`
	MetaData       map[string]string `json:"meta_data,omitempty"`
}

// UnmarshalJSON accepts numeric or string timestamps/codes and loose meta_data.
func (c *Chat) UnmarshalJSON(b []byte) error {
	if err := decodeLoose(b, c); err != nil {
		return err
	}
	if c.LastError != nil && *c.LastError == (ChatError{}) {
		c.LastError = nil
	}
	if !hasData(c.RequiredAction) {
		c.RequiredAction = nil
	}
	return nil
}

// UnmarshalJSON accepts a numeric or string code and msg.
func (e *ChatError) UnmarshalJSON(b []byte) error { return decodeLoose(b, e) }

// Running reports a created or in_progress chat.
func (c Chat) Running() bool { return c.Status == ChatCreated || c.Status == ChatInProgress }

// ToolCall is one entry of required_action.submit_tool_outputs.tool_calls.
type ToolCall struct {
	ID        string `json:"id"`
	Type      string `json:"type"` // function / reply_message
	Name      string `json:"name"`
	Arguments string `json:"arguments"` // a JSON string
}

// ToolCalls decodes RequiredAction's tool calls (empty when there are none).
func (c Chat) ToolCalls() []ToolCall {
	if len(c.RequiredAction) == 0 {
		return nil
	}
	var w struct {
		SubmitToolOutputs struct {
			ToolCalls []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"submit_tool_outputs"`
	}
	if json.Unmarshal(c.RequiredAction, &w) != nil {
		return nil
	}
	var out []ToolCall
	for _, tc := range w.SubmitToolOutputs.ToolCalls {
		out = append(out, ToolCall{ID: tc.ID, Type: tc.Type, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return out
}

type chatBody struct {
	BotID              string            `json:"bot_id"`
	UserID             string            `json:"user_id"`
	Stream             bool              `json:"stream"`
	AutoSaveHistory    bool              `json:"auto_save_history"`
	AdditionalMessages []EnterMessage    `json:"additional_messages,omitempty"`
	CustomVariables    map[string]string `json:"custom_variables,omitempty"`
	MetaData           map[string]string `json:"meta_data,omitempty"`
	PublishStatus      string            `json:"publish_status,omitempty"`
	Parameters         map[string]any    `json:"parameters,omitempty"`
	EnableCard         bool              `json:"enable_card,omitempty"`
}

func (r ChatRequest) request(ts TokenSource, stream bool) apiRequest {
	q := url.Values{}
	setIf(q, "conversation_id", r.ConversationID)
	save := true
	if r.AutoSaveHistory != nil {
		save = *r.AutoSaveHistory
	}
	return apiRequest{method: http.MethodPost, path: "/v3/chat", query: q, src: ts, perm: "chat", body: chatBody{
		BotID: r.BotID, UserID: r.UserID, Stream: stream, AutoSaveHistory: save,
		AdditionalMessages: r.AdditionalMessages, CustomVariables: r.CustomVariables,
		MetaData: r.MetaData, PublishStatus: r.PublishStatus, Parameters: r.Parameters,
		EnableCard: r.EnableCard,
	}}
}

// StreamChat starts a streaming chat (§16). Pre-stream failures (4015, 4016, 4100 …) are
// returned as *APIError and no Stream.
func (c *Client) StreamChat(ctx context.Context, ts TokenSource, r ChatRequest) (*Stream, error) {
	return c.openStream(ctx, r.request(ts, true))
}

func chatQuery(convID, chatID string) url.Values {
	return url.Values{"conversation_id": {convID}, "chat_id": {chatID}}
}

// RetrieveChat reads a chat: GET /v3/chat/retrieve (§15.2).
func (c *Client) RetrieveChat(ctx context.Context, ts TokenSource, convID, chatID string) (Chat, error) {
	return callInto[Chat](ctx, c, apiRequest{method: http.MethodGet, path: "/v3/chat/retrieve", query: chatQuery(convID, chatID), src: ts, perm: "getChat"})
}

// ChatMessages lists a chat's messages except the user query: GET /v3/chat/message/list
// (§15.3). Pick type=answer items rather than relying on order.
func (c *Client) ChatMessages(ctx context.Context, ts TokenSource, convID, chatID string) ([]Message, error) {
	return callInto[[]Message](ctx, c, apiRequest{method: http.MethodGet, path: "/v3/chat/message/list", query: chatQuery(convID, chatID), src: ts, perm: "listMessage"})
}

// CancelChat cancels a running chat: POST /v3/chat/cancel with ids in the body (§15.4).
// It does not stop a stream already being sent; close it too.
func (c *Client) CancelChat(ctx context.Context, ts TokenSource, convID, chatID string) (Chat, error) {
	body := struct {
		ChatID         string `json:"chat_id"`
		ConversationID string `json:"conversation_id"`
	}{chatID, convID}
	return callInto[Chat](ctx, c, apiRequest{method: http.MethodPost, path: "/v3/chat/cancel", body: body, src: ts, perm: "cancelChat"})
}
