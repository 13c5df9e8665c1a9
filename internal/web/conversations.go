package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

type conversationJSON struct {
	ID        string `json:"id"`
	BotID     string `json:"bot_id"`
	BotName   string `json:"bot_name"`
	Title     string `json:"title"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

type messageJSON struct {
	ID        int64     `json:"id"`
	Role      string    `json:"role"`
	Content   string    `json:"content"`
	Status    string    `json:"status"`
	ErrorCode string    `json:"error_code,omitempty"`
	ChatID    string    `json:"chat_id"`
	FollowUps []string  `json:"follow_ups"`
	Usage     any       `json:"usage"`
	CreatedAt string    `json:"created_at"`
	created   time.Time `json:"-"`
}

func toConversationJSON(c store.Conversation) conversationJSON {
	return conversationJSON{ID: c.ID, BotID: c.BotID, BotName: c.BotName, Title: c.Title,
		CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339), UpdatedAt: c.UpdatedAt.UTC().Format(time.RFC3339)}
}

func toMessageJSON(m store.Message) messageJSON {
	var usage any
	if len(m.Usage) > 0 && json.Valid(m.Usage) {
		usage = json.RawMessage(m.Usage)
	}
	fu := m.FollowUps
	if fu == nil {
		fu = []string{}
	}
	return messageJSON{ID: m.ID, Role: m.Role, Content: m.Content, Status: m.Status, ErrorCode: m.ErrorCode,
		ChatID: m.ChatID, FollowUps: fu, Usage: usage, CreatedAt: m.CreatedAt.UTC().Format(time.RFC3339), created: m.CreatedAt}
}

// conversationWithMessages is the body of GET …/messages and the JSON export.
func conversationWithMessages(c store.Conversation, msgs []store.Message) map[string]any {
	out := make([]messageJSON, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, toMessageJSON(m))
	}
	return map[string]any{"conversation": toConversationJSON(c), "messages": out}
}

func usageJSON(u *coze.Usage) any {
	if u == nil {
		return nil
	}
	return usageOut{TokenCount: u.TokenCount, OutputCount: u.OutputCount, InputCount: u.InputCount}
}

// handleConversations lists the user's conversations across all bots, newest
// first; q searches titles and message text.
func (s *Server) handleConversations(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	q := r.URL.Query()
	botID, search := q.Get("bot_id"), strings.TrimSpace(q.Get("q"))
	if botID != "" && !isDigits(botID, 30) {
		writeError(w, r, badRequest("bot_id must be digits.", "bot_id 必须是数字。"))
		return
	}
	if utf8.RuneCountInString(search) > 200 || !utf8.ValidString(search) {
		writeError(w, r, badRequest("The search text is too long or not valid UTF-8.", "搜索内容过长或不是有效的 UTF-8。"))
		return
	}
	// PostgreSQL text cannot hold NUL (a 500 there), and SQLite cuts the
	// pattern at it (issue 8 item 14).
	if strings.ContainsRune(search, 0) {
		writeError(w, r, badRequest("The search text contains a NUL character.", "搜索内容包含 NUL 字符。"))
		return
	}
	list, err := s.d.Store.ListConversations(r.Context(), u.ID, botID, search, 200)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]conversationJSON, 0, len(list))
	for _, c := range list {
		out = append(out, toConversationJSON(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": out})
}

// conversationOf loads the user's own conversation; another user's id is a
// plain 404 (catalog case 20).
func (s *Server) conversationOf(w http.ResponseWriter, r *http.Request) (store.Conversation, bool) {
	u, _ := auth.UserFrom(r.Context())
	id := r.PathValue("id")
	if !isDigits(id, 30) {
		writeError(w, r, badRequest("The conversation id must be digits.", "会话 ID 必须是数字。"))
		return store.Conversation{}, false
	}
	c, err := s.d.Store.ConversationByID(r.Context(), u.ID, id)
	if err != nil {
		writeError(w, r, err)
		return store.Conversation{}, false
	}
	return c, true
}

// handleMessages returns a conversation with its messages, oldest first.
func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversationOf(w, r)
	if !ok {
		return
	}
	msgs, err := s.d.Store.Messages(r.Context(), c.UserID, c.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, conversationWithMessages(c, msgs))
}

// handleRename sets a conversation's title.
func (s *Server) handleRename(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Title string `json:"title"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	title := strings.TrimSpace(req.Title)
	if title == "" || utf8.RuneCountInString(title) > 100 || strings.IndexFunc(title, unicode.IsControl) >= 0 {
		writeError(w, r, badRequest("The title must be 1–100 characters without control characters.", "标题须为 1–100 个字符且不含控制字符。"))
		return
	}
	c, ok := s.conversationOf(w, r)
	if !ok {
		return
	}
	if err := s.d.Store.RenameConversation(r.Context(), c.UserID, c.ID, title); err != nil {
		writeError(w, r, err)
		return
	}
	c.Title = title
	writeJSON(w, http.StatusOK, toConversationJSON(c))
}

// handleDeleteConversation removes the conversation from the history and,
// best effort, from Coze.
func (s *Server) handleDeleteConversation(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversationOf(w, r)
	if !ok {
		return
	}
	if err := s.d.Store.DeleteConversation(r.Context(), c.UserID, c.ID); err != nil {
		writeError(w, r, err)
		return
	}
	// Coze keeps messages for 180 days; deleting there too is courtesy, and a
	// failure (say, a missing editConversation permission) must not undo ours.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if err := s.d.Auth.Do(ctx, c.UserID, func(ctx context.Context, tok coze.AccessToken) error {
		return s.d.Coze.DeleteConversation(ctx, tok, c.ID)
	}); err != nil {
		s.d.Log.DebugContext(ctx, "upstream conversation delete failed", "request_id", requestIDFrom(r.Context()), "err", err)
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// handleExport downloads a conversation as Markdown or JSON (catalog case 70:
// an attachment with a safe file name and an exact Content-Type).
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "md"
	}
	if format != "md" && format != "json" {
		writeError(w, r, badRequest("format must be md or json.", "format 必须是 md 或 json。"))
		return
	}
	c, ok := s.conversationOf(w, r)
	if !ok {
		return
	}
	msgs, err := s.d.Store.Messages(r.Context(), c.UserID, c.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="coze2app-%s.%s"`, c.ID, format))
	h.Set("Cache-Control", "no-store")
	if format == "json" {
		writeJSON(w, http.StatusOK, conversationWithMessages(c, msgs))
		return
	}
	h.Set("Content-Type", "text/markdown; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(renderMarkdownExport(c, msgs)))
}

// renderMarkdownExport writes the conversation as Markdown. Message text is
// written as it was; the file is downloaded, never rendered by us.
func renderMarkdownExport(c store.Conversation, msgs []store.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", oneLine(c.Title))
	if c.BotName != "" {
		fmt.Fprintf(&b, "Bot: %s (%s)  \n", oneLine(c.BotName), c.BotID)
	} else {
		fmt.Fprintf(&b, "Bot: %s  \n", c.BotID)
	}
	fmt.Fprintf(&b, "Conversation: %s  \nExported: %s\n\n", c.ID, time.Now().UTC().Format(time.RFC3339))
	for _, m := range msgs {
		who := "You"
		if m.Role == "assistant" {
			who = "Bot"
		}
		fmt.Fprintf(&b, "## %s — %s\n\n%s\n\n", who, m.CreatedAt.UTC().Format(time.RFC3339), m.Content)
		if m.Status != "" && m.Status != "complete" {
			fmt.Fprintf(&b, "_(%s)_\n\n", m.Status)
		}
	}
	return b.String()
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
