package coze

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// Bot is an item of the new bot list, GET /v1/bots (coze-protocol §11.2).
type Bot struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	IconURL     string `json:"icon_url"`
	FolderID    string `json:"folder_id,omitempty"`
	OwnerUserID string `json:"owner_user_id,omitempty"`
	UpdatedAt   int64  `json:"updated_at"`
	PublishedAt int64  `json:"published_at,omitempty"`
	IsPublished bool   `json:"is_published"`
}

// UnmarshalJSON accepts numeric or string timestamps.
func (b *Bot) UnmarshalJSON(data []byte) error {
	type plain Bot
	var w struct {
		*plain
		UpdatedAt   flexInt `json:"updated_at"`
		PublishedAt flexInt `json:"published_at"`
	}
	w.plain = (*plain)(b)
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	b.UpdatedAt, b.PublishedAt = int64(w.UpdatedAt), int64(w.PublishedAt)
	return nil
}

// BotListParams selects bots for GET /v1/bots.
type BotListParams struct {
	WorkspaceID   string
	PublishStatus string // "" => server default published_online; "all", "unpublished_draft", …
	ConnectorID   string
	PageNum       int // sent as page_num and page_index (coze-protocol E3)
	PageSize      int
}

// BotPage is one page of the new bot list.
type BotPage struct {
	Items []Bot `json:"items"`
	Total int   `json:"total"`
}

// Bots lists one page of bots: GET /v1/bots.
func (c *Client) Bots(ctx context.Context, ts TokenSource, p BotListParams) (BotPage, error) {
	q := url.Values{}
	setIf(q, "workspace_id", p.WorkspaceID)
	setIf(q, "publish_status", p.PublishStatus)
	setIf(q, "connector_id", p.ConnectorID)
	// The docs and coze-js send page_num; coze-py cozepy/bots/__init__.py
	// (_list_v2) sends page_index. Both go, so either reading pages.
	setIntIf(q, "page_num", p.PageNum)
	setIntIf(q, "page_index", p.PageNum)
	setIntIf(q, "page_size", p.PageSize)
	return callInto[BotPage](ctx, c, apiRequest{method: http.MethodGet, path: "/v1/bots", query: q, src: ts, perm: "listBot"})
}

// AllBots pages through Bots until total items, a short page, or a page that
// brings no bot not seen before. Each bot is kept once, by id: a server that
// reads neither paging parameter, or a list that shifts between pages,
// repeats items (coze-protocol E3).
func (c *Client) AllBots(ctx context.Context, ts TokenSource, workspaceID, publishStatus string) ([]Bot, error) {
	const size = 20
	var all []Bot
	seen := map[string]bool{}
	for page := 1; page <= maxPages; page++ {
		p, err := c.Bots(ctx, ts, BotListParams{WorkspaceID: workspaceID, PublishStatus: publishStatus, PageNum: page, PageSize: size})
		if err != nil {
			return nil, err
		}
		fresh := 0
		for _, b := range p.Items {
			if !seen[b.ID] {
				seen[b.ID] = true
				all = append(all, b)
				fresh++
			}
		}
		if len(p.Items) < size || fresh == 0 || (p.Total > 0 && len(all) >= p.Total) {
			break
		}
	}
	return all, nil
}

// Bot retrieves a bot: GET /v1/bots/{id} (§11.4); draft => is_published=false.
func (c *Client) Bot(ctx context.Context, ts TokenSource, botID string, draft bool) (BotInfo, error) {
	q := url.Values{}
	if draft {
		q.Set("is_published", strconv.FormatBool(false))
	}
	return callInto[BotInfo](ctx, c, apiRequest{method: http.MethodGet, path: "/v1/bots/" + seg(botID), query: q, src: ts, perm: "getMetadata"})
}

// CreateBot creates a draft bot: POST /v1/bot/create (§11.5).
func (c *Client) CreateBot(ctx context.Context, ts TokenSource, r CreateBotRequest) (string, error) {
	var out struct {
		BotID flexString `json:"bot_id"`
	}
	err := c.callData(ctx, apiRequest{method: http.MethodPost, path: "/v1/bot/create", body: r.wire(), src: ts, perm: "createBot"}, &out)
	return string(out.BotID), err
}

// UpdateBot changes a bot's draft: POST /v1/bot/update (no data in the answer, §11.6).
func (c *Client) UpdateBot(ctx context.Context, ts TokenSource, r UpdateBotRequest) error {
	return c.callData(ctx, apiRequest{method: http.MethodPost, path: "/v1/bot/update", body: r.wire(), src: ts, perm: "edit"}, nil)
}

// PublishBot publishes a bot to connectors (nil => ["1024"], the API channel):
// POST /v1/bot/publish (§11.7). It returns the new version.
func (c *Client) PublishBot(ctx context.Context, ts TokenSource, botID string, connectorIDs []string) (string, error) {
	if len(connectorIDs) == 0 {
		connectorIDs = []string{"1024"}
	}
	body := struct {
		BotID        string   `json:"bot_id"`
		ConnectorIDs []string `json:"connector_ids"`
	}{botID, connectorIDs}
	var out struct {
		Version flexString `json:"version"`
	}
	err := c.callData(ctx, apiRequest{method: http.MethodPost, path: "/v1/bot/publish", body: body, src: ts, perm: "publish"}, &out)
	return string(out.Version), err
}
