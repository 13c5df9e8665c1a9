package coze

import (
	"context"
	"net/http"
	"net/url"
)

// User is the signed-in Coze account (coze-protocol §9).
type User struct {
	UserID    string `json:"user_id"`
	UserName  string `json:"user_name"`
	NickName  string `json:"nick_name"`
	AvatarURL string `json:"avatar_url"`
}

// Workspace is a space the user created or joined (§10).
type Workspace struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	IconURL       string `json:"icon_url"`
	RoleType      string `json:"role_type"`      // owner / admin / member
	WorkspaceType string `json:"workspace_type"` // personal / team
	EnterpriseID  string `json:"enterprise_id"`
}

// WorkspacePage is one page of Workspaces.
type WorkspacePage struct {
	Workspaces []Workspace `json:"workspaces"`
	TotalCount int         `json:"total_count"`
}

// Me returns the token's user: GET /v1/users/me.
func (c *Client) Me(ctx context.Context, ts TokenSource) (User, error) {
	return callInto[User](ctx, c, apiRequest{method: http.MethodGet, path: "/v1/users/me", src: ts})
}

// Workspaces lists one page: GET /v1/workspaces (page_size max 50).
func (c *Client) Workspaces(ctx context.Context, ts TokenSource, pageNum, pageSize int) (WorkspacePage, error) {
	q := url.Values{}
	setIntIf(q, "page_num", pageNum)
	setIntIf(q, "page_size", pageSize)
	return callInto[WorkspacePage](ctx, c, apiRequest{method: http.MethodGet, path: "/v1/workspaces", query: q, src: ts, perm: "listWorkspace"})
}

// maxPages bounds the All* helpers against a server that never stops paging.
const maxPages = 50

// AllWorkspaces pages through Workspaces until total_count items or a short page (§10).
func (c *Client) AllWorkspaces(ctx context.Context, ts TokenSource) ([]Workspace, error) {
	const size = 50
	var all []Workspace
	for page := 1; page <= maxPages; page++ {
		p, err := c.Workspaces(ctx, ts, page, size)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Workspaces...)
		if len(p.Workspaces) < size || (p.TotalCount > 0 && len(all) >= p.TotalCount) {
			break
		}
	}
	return all, nil
}
