package coze

import (
	"encoding/json"
	"fmt"
)

// MessageText decodes only what a relay reads of a message.delta or
// message.completed event: ID, Role, Type, Content, ContentType and
// ReasoningContent; every other field of the Message is left zero and not
// decoded. It is one pass over the data where Message is three (the event,
// then the message's own UnmarshalJSON, then each flexible field).
func (e Event) MessageText() (Message, error) {
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
