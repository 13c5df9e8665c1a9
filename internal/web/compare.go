package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/store"
)

// Several bots side by side (issue 12): POST /api/compare starts one reply per
// column, each an ordinary chat run in its own conversation; GET
// /api/compare/stream carries all of them over one SSE connection
// (chat.ServeFanIn, docs/stream-contract.md "Side by side"). Stop and Retry use
// the routes of a single chat (POST /api/chat/cancel, POST /api/compare with one
// column).

// compareStartWait bounds how long POST /api/compare waits for Coze to name
// each chat (its first event).
const compareStartWait = 30 * time.Second

var (
	errCompareColumns = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.compare_columns", Field: "columns"}
	errCompareTag     = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.compare_tag", Field: "columns"}
	errCompareChats   = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.compare_chats", Field: "chats"}
)

type compareColumn struct {
	Tag            string `json:"tag"`
	BotID          string `json:"bot_id"`
	BotName        string `json:"bot_name"`
	ConversationID string `json:"conversation_id"`
}

type compareRequest struct {
	Message string          `json:"message"`
	Columns []compareColumn `json:"columns"`
}

// validTag accepts a column tag as the fan-in carries it.
func validTag(s string) bool {
	return s != "" && len(s) <= 8 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == ""
}

// handleCompare starts one reply per column and answers, once Coze has named
// each chat, {"columns":[{tag, bot_id, conversation_id, chat_id} | {tag, bot_id, error} | {tag, bot_id, end}]}.
// A column Coze refuses (a draft: bot_not_published) fails alone.
func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	var req compareRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if len(req.Columns) == 0 || len(req.Columns) > chat.MaxFanIn {
		writeError(w, r, errCompareColumns)
		return
	}
	seen := map[string]bool{}
	for _, c := range req.Columns {
		if !validTag(c.Tag) || seen[c.Tag] {
			writeError(w, r, errCompareTag)
			return
		}
		seen[c.Tag] = true
	}
	// Validate every column before starting any.
	for _, c := range req.Columns {
		if _, err := chat.Validate(chat.StartRequest{BotID: c.BotID, BotName: c.BotName, Message: req.Message, ConversationID: c.ConversationID}); err != nil {
			writeError(w, r, err)
			return
		}
	}
	for range req.Columns {
		if ok, wait := s.chats.allow(strconv.FormatInt(u.ID, 10)); !ok {
			n := s.d.ChatsPerMinute
			writeError(w, r, tooMany("too_many_chats", wait, "n", n))
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), compareStartWait)
	defer cancel()
	out := make([]map[string]any, len(req.Columns))
	var wg sync.WaitGroup
	for i, c := range req.Columns {
		wg.Go(func() {
			col := map[string]any{"tag": c.Tag, "bot_id": c.BotID}
			out[i] = col
			run, err := s.d.Chat.Start(ctx, u, chat.StartRequest{BotID: c.BotID, BotName: c.BotName, Message: req.Message, ConversationID: c.ConversationID})
			if err != nil {
				col["error"] = errorBody(r, err)
				return
			}
			chatID, end, err := run.WaitChat(ctx)
			if err != nil {
				col["error"] = errorBody(r, err)
				return
			}
			col["chat_id"], col["conversation_id"] = chatID, run.ConversationID()
			if end != nil {
				col["end"] = json.RawMessage(end)
			}
		})
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, map[string]any{"columns": out})
}

// handleCompareStream relays the replies of a comparison over one SSE
// connection: GET /api/compare/stream?chats=tag:chat_id,… with Last-Event-ID
// "tag:N,…" to resume (chat.ServeFanIn).
func (s *Server) handleCompareStream(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	parts := strings.Split(r.URL.Query().Get("chats"), ",")
	if len(parts) == 0 || len(parts) > chat.MaxFanIn {
		writeError(w, r, errCompareChats)
		return
	}
	after, err := chat.ParseFanInID(r)
	if err != nil {
		writeError(w, r, badRequest("compare_event_id"))
		return
	}
	cols := make([]chat.FanInColumn, 0, len(parts))
	seen := map[string]bool{}
	for _, p := range parts {
		tag, chatID, ok := strings.Cut(p, ":")
		if !ok || !validTag(tag) || seen[tag] || !isDigits(chatID, 30) {
			writeError(w, r, errCompareChats)
			return
		}
		seen[tag] = true
		// Another user's chat id is simply not found: its column ends
		// resume_unavailable, as a forgotten reply does.
		run, _ := s.d.Chat.Lookup(u.ID, chatID)
		cols = append(cols, chat.FanInColumn{Tag: tag, Run: run, After: after[tag]})
	}
	done := s.d.Metrics.StreamOpened("compare")
	defer done()
	if err := s.d.Chat.ServeFanIn(w, r, cols); err != nil {
		writeError(w, r, err)
	}
}

// Comparisons in history (issue 12): one item per comparison, listing its
// columns' conversations in order. Reopening reads each conversation through
// GET /api/conversations/{id}/messages, which checks it is the user's own, so
// a saved id of someone else's conversation shows nothing.

var errComparison = &apiError{Status: 400, Code: "bad_request", Key: "bad_request.comparison", Field: "columns"}

type comparisonJSON struct {
	ID        string                   `json:"id"`
	Title     string                   `json:"title"`
	Columns   []store.ComparisonColumn `json:"columns"`
	UpdatedAt string                   `json:"updated_at"`
}

func toComparisonJSON(c store.Comparison) comparisonJSON {
	return comparisonJSON{ID: c.ID, Title: c.Title, Columns: c.Columns, UpdatedAt: c.UpdatedAt.UTC().Format(time.RFC3339)}
}

// handleSaveComparison records or updates a comparison: POST /api/comparisons
// {id?, title, columns:[{bot_id, bot_name, conversation_id}]} → {"id"}.
func (s *Server) handleSaveComparison(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	var req struct {
		ID      string                   `json:"id"`
		Title   string                   `json:"title"`
		Columns []store.ComparisonColumn `json:"columns"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	ok := len(req.Columns) >= 2 && len(req.Columns) <= chat.MaxFanIn && utf8.RuneCountInString(req.Title) <= 200 &&
		!strings.ContainsRune(req.Title, 0) && (req.ID == "" || validComparisonID(req.ID))
	for _, c := range req.Columns {
		ok = ok && isDigits(c.BotID, 30) && isDigits(c.ConversationID, 30) && utf8.RuneCountInString(c.BotName) <= 100 && !strings.ContainsRune(c.BotName, 0)
	}
	if !ok {
		writeError(w, r, errComparison)
		return
	}
	id, err := s.d.Store.SaveComparison(r.Context(), store.Comparison{ID: req.ID, UserID: u.ID, Title: req.Title, Columns: req.Columns})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// handleComparisons lists the user's comparisons, newest first.
func (s *Server) handleComparisons(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	list, err := s.d.Store.ListComparisons(r.Context(), u.ID, 100)
	writeList(w, r, "comparisons", list, err, toComparisonJSON)
}

// handleComparison returns one of the user's comparisons.
func (s *Server) handleComparison(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id := r.PathValue("id")
	if !validComparisonID(id) {
		writeError(w, r, errNotFound)
		return
	}
	c, err := s.d.Store.ComparisonByID(r.Context(), u.ID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"comparison": toComparisonJSON(c)})
}

func validComparisonID(s string) bool {
	return len(s) == 24 && strings.Trim(s, "0123456789abcdef") == ""
}
