package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/chat"
)

// chatRequest is the body of POST /api/chat (the Flask demo's contract plus
// stream, file_ids and bot_name).
type chatRequest struct {
	BotID          string   `json:"bot_id"`
	BotName        string   `json:"bot_name"`
	BotIconURL     string   `json:"bot_icon_url"`
	Message        string   `json:"message"`
	ConversationID string   `json:"conversation_id"`
	Stream         bool     `json:"stream"`
	FileIDs        []string `json:"file_ids"`
}

// maxIconURLBytes bounds a bot icon address kept in the history.
const maxIconURLBytes = 2048

// botIconURL checks the icon the page sends for the history: "" or an
// address the page may show (safeImageURL, the bot list's own rule).
func botIconURL(s string) (string, bool) {
	if s == "" {
		return "", true
	}
	safe := safeImageURL(s)
	return safe, safe != "" && len(s) <= maxIconURLBytes && !strings.ContainsRune(s, 0)
}

// maxMessageRunes bounds a workflow question's answer like a chat message.
const maxMessageRunes = chat.MaxMessageRunes

// handleChat sends a message. stream:false answers one JSON object (the
// demo's contract, plus the reply's reasoning, cards and question);
// stream:true streams our events as Coze's arrive (docs/stream-contract.md).
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	var req chatRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if ok, wait := s.chats.allow(strconv.FormatInt(u.ID, 10)); !ok {
		n := s.d.ChatsPerMinute
		writeError(w, r, tooMany("too_many_chats", wait, "n", n))
		return
	}
	icon, ok := botIconURL(req.BotIconURL)
	if !ok {
		writeError(w, r, badRequest("bot_icon_url"))
		return
	}
	start := chat.StartRequest{BotID: req.BotID, BotName: req.BotName, BotIconURL: icon, Message: req.Message,
		ConversationID: req.ConversationID, FileIDs: req.FileIDs}
	if !req.Stream {
		res, err := s.d.Chat.Complete(r.Context(), u, start)
		if err != nil {
			writeError(w, r, err)
			return
		}
		followUps := res.FollowUps
		if followUps == nil {
			followUps = []string{}
		}
		cards := res.Cards
		if cards == nil {
			cards = []chat.Card{}
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"conversation_id": res.ConversationID, "chat_id": res.ChatID, "answer": res.Answer,
			"reasoning": res.Reasoning, "cards": cards, "question": res.Question,
			"follow_ups": followUps, "usage": usageJSON(res.Usage),
		})
		return
	}
	run, err := s.d.Chat.StartRelayed(r.Context(), u, start)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.serveRun(w, r, "new", run, 0)
}

// handleCancel is the Stop button: it cancels the chat upstream and ends the relay.
func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	var req struct {
		ConversationID string `json:"conversation_id"`
		ChatID         string `json:"chat_id"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if !isDigits(req.ConversationID, 30) || !isDigits(req.ChatID, 30) {
		writeError(w, r, badRequest("chat_ids"))
		return
	}
	if err := s.d.Chat.Cancel(r.Context(), u, req.ConversationID, req.ChatID); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "status": "canceled"})
}

// handleResume re-attaches a browser to a live (or just finished) reply,
// sending the events after Last-Event-ID exactly once.
func (s *Server) handleResume(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	chatID, ok := pathID(w, r, "chat_id", "chat_id")
	if !ok {
		return
	}
	s.serveResume(w, r, "resume", func() (*chat.Run, bool) { return s.d.Chat.Lookup(u.ID, chatID) })
}

// serveResume sends the events of the run lookup finds after Last-Event-ID,
// exactly once; metric names the stream.
func (s *Server) serveResume(w http.ResponseWriter, r *http.Request, metric string, lookup func() (*chat.Run, bool)) {
	after, err := chat.ParseLastEventID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	run, ok := lookup()
	if !ok {
		writeError(w, r, errNotFound)
		return
	}
	if err := run.CheckResume(after); err != nil {
		writeError(w, r, err)
		return
	}
	s.serveRun(w, r, metric, run, after)
}

// serveRun relays run's events after the one numbered after as SSE, counted
// as an open stream of kind metric while it lasts. On HTTP/1.x the relay goes
// on after this returns (chat.Service.Relay): the request log records its
// start, the stream gauge its whole life.
func (s *Server) serveRun(w http.ResponseWriter, r *http.Request, metric string, run *chat.Run, after int64) {
	done := s.d.Metrics.StreamOpened(metric)
	if err := s.d.Chat.Relay(w, r, run, after, done); err != nil {
		done()
		writeError(w, r, err)
	}
}
