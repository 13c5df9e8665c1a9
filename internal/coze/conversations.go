package coze

import (
	"context"
	"net/http"
)

// DeleteConversation deletes it: DELETE /v1/conversations/{id} (no data, §13.5).
func (c *Client) DeleteConversation(ctx context.Context, ts TokenSource, convID string) error {
	return c.callData(ctx, apiRequest{method: http.MethodDelete, path: "/v1/conversations/" + seg(convID), src: ts, perm: "editConversation"}, nil)
}
