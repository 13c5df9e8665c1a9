package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/coze"
)

type workspaceJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	IconURL string `json:"icon_url"`
	Role    string `json:"role"`
	Type    string `json:"type"`
}

type botJSON struct {
	listItemJSON
	Published bool `json:"published"`
}

// handleWorkspaces lists the user's workspaces (permission listWorkspace).
func (s *Server) handleWorkspaces(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	list, err := s.workspaces(r.Context(), u.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"workspaces": list})
}

func (s *Server) workspaces(ctx context.Context, userID int64) ([]workspaceJSON, error) {
	if v, ok := s.bots.get(userID, "workspaces"); ok {
		return v.([]workspaceJSON), nil
	}
	ws, err := s.d.Coze.AllWorkspaces(ctx, s.d.Auth.Source(userID))
	if err != nil {
		return nil, err
	}
	out := make([]workspaceJSON, 0, len(ws))
	for _, w := range ws {
		out = append(out, workspaceJSON{ID: w.ID, Name: w.Name, IconURL: safeImageURL(w.IconURL), Role: w.RoleType, Type: w.WorkspaceType})
	}
	s.bots.put(userID, "workspaces", out)
	return out, nil
}

// handleBots lists every bot of a workspace (all pages), cached per user.
// Without workspace_id it uses the personal workspace.
func (s *Server) handleBots(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	ws := r.URL.Query().Get("workspace_id")
	if ws != "" && !isDigits(ws, 30) {
		writeError(w, r, badRequest("workspace_id"))
		return
	}
	if ws == "" {
		list, err := s.workspaces(r.Context(), u.ID)
		if err != nil {
			writeError(w, r, err)
			return
		}
		for _, w := range list {
			if w.Type == "personal" {
				ws = w.ID
				break
			}
		}
		if ws == "" && len(list) > 0 {
			ws = list[0].ID
		}
		if ws == "" {
			writeJSON(w, http.StatusOK, map[string]any{"workspace_id": "", "bots": []botJSON{}})
			return
		}
	}
	key := "bots:" + ws
	if v, ok := s.bots.get(u.ID, key); ok {
		writeJSON(w, http.StatusOK, map[string]any{"workspace_id": ws, "bots": v})
		return
	}
	// "all" includes drafts, so a draft bot is listed and chatting with it
	// explains how to publish it (4015) instead of the bot being invisible.
	bots, err := s.d.Coze.AllBots(r.Context(), s.d.Auth.Source(u.ID), ws, "all")
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]botJSON, 0, len(bots))
	for _, b := range bots {
		out = append(out, botJSON{listItem(b.ID, b.Name, b.Description, b.IconURL, b.UpdatedAt), b.IsPublished})
	}
	s.bots.put(u.ID, key, out)
	for _, b := range out {
		s.bots.put(u.ID, publishedKey(b.ID), b.Published)
	}
	writeJSON(w, http.StatusOK, map[string]any{"workspace_id": ws, "bots": out})
}

// handleBot returns one bot's details with its prologue and suggested questions.
func (s *Server) handleBot(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id, ok := pathID(w, r, "id", "bot_id")
	if !ok {
		return
	}
	// A bot the list called never published has only a draft: ask for it
	// directly. Otherwise ask for the published config and fall back to the
	// draft on any Coze error that is not about the token or permissions,
	// because what Coze answers for a never-published bot is undocumented
	// (coze-protocol E6).
	v, listed := s.bots.get(u.ID, publishedKey(id))
	published, _ := v.(bool)
	draft := listed && !published
	src := s.d.Auth.Source(u.ID)
	info, err := s.d.Coze.Bot(r.Context(), src, id, draft)
	if err != nil && !draft && draftFallback(err) {
		info, err = s.d.Coze.Bot(r.Context(), src, id, true)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	questions := info.Onboarding.SuggestedQuestions
	if questions == nil {
		questions = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": info.BotID, "name": info.Name, "description": info.Description,
		"icon_url": safeImageURL(info.IconURL), "prologue": info.Onboarding.Prologue,
		"suggested_questions": questions, "model": info.ModelName, "updated_at": info.UpdateTime,
	})
}

// publishedKey is the bot cache key of a listed bot's is_published.
func publishedKey(botID string) string { return "published:" + botID }

// draftFallback reports whether a failed read of a bot's published config
// may be retried as a draft read: any Coze error code except an invalid token
// (the client refreshes and retries) or a missing permission. A gateway failure
// without a code is not retried against the same gateway.
func draftFallback(err error) bool {
	var ae *coze.APIError
	return errors.As(err, &ae) && ae.Code != 0 && !coze.IsTokenInvalid(err) && !coze.IsPermissionDenied(err)
}

// safeImageURL keeps https URLs and same-origin paths; anything else
// (javascript:, data:, http:) becomes "" and the page shows a letter avatar.
func safeImageURL(s string) string {
	if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, "/\\") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return ""
	}
	return u.String()
}

// botCache keeps per-user lists for a short time. Keys include the user id,
// and sign-out purges the user's entries (catalog case 20).
type botCache struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[int64]map[string]cacheEntry
}

type cacheEntry struct {
	v       any
	expires time.Time
}

func newBotCache(ttl time.Duration, now func() time.Time) *botCache {
	return &botCache{ttl: ttl, now: now, m: map[int64]map[string]cacheEntry{}}
}

func (c *botCache) get(user int64, key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[user][key]
	if !ok || c.now().After(e.expires) {
		return nil, false
	}
	return e.v, true
}

func (c *botCache) put(user int64, key string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 10000 {
		// Bound memory: drop everything rather than track LRU order.
		c.m = map[int64]map[string]cacheEntry{}
	}
	if c.m[user] == nil {
		c.m[user] = map[string]cacheEntry{}
	}
	c.m[user][key] = cacheEntry{v: v, expires: c.now().Add(c.ttl)}
}

func (c *botCache) purge(user int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, user)
}
