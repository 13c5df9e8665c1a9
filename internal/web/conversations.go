package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

type conversationJSON struct {
	ID         string `json:"id"`
	BotID      string `json:"bot_id"`
	BotName    string `json:"bot_name"`
	BotIconURL string `json:"bot_icon_url"`
	Title      string `json:"title"`
	Pinned     bool   `json:"pinned"`
	// State marks the latest reply for the history: "live" (still
	// streaming), "stopped" (the user stopped it), "failed" (an error or an
	// interrupted reply) or "" (complete, or none yet).
	State     string `json:"state"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// UndoWindow is how long a deleted conversation can be restored; the toast
// offering Undo shows for less, so a click at its last moment still lands.
// The app's sweep purges what is older (internal/app).
const UndoWindow = 30 * time.Second

// replyState maps a reply's stored status to the history's mark.
func replyState(status string) string {
	switch status {
	case store.StatusStreaming:
		return "live"
	case store.StatusCanceled:
		return "stopped"
	case store.StatusFailed, store.StatusIncomplete:
		return "failed"
	}
	return ""
}

// messageJSON is one message of the history. An assistant message carries the same
// parts its stream did (docs/stream-contract.md): answer (content), reasoning, cards,
// question, follow-ups and usage.
type messageJSON struct {
	ID        int64           `json:"id"`
	Role      string          `json:"role"`
	Content   string          `json:"content"`
	Reasoning string          `json:"reasoning"`
	Cards     json.RawMessage `json:"cards"`
	Question  json.RawMessage `json:"question"`
	Status    string          `json:"status"`
	ErrorCode string          `json:"error_code,omitempty"`
	ChatID    string          `json:"chat_id"`
	FollowUps []string        `json:"follow_ups"`
	Usage     any             `json:"usage"`
	CreatedAt string          `json:"created_at"`
	created   time.Time       `json:"-"`
}

func toConversationJSON(c store.Conversation) conversationJSON {
	return conversationJSON{ID: c.ID, BotID: c.BotID, BotName: c.BotName, BotIconURL: safeImageURL(c.BotIconURL),
		Title: c.Title, Pinned: !c.PinnedAt.IsZero(), State: replyState(c.LastStatus),
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
	// Stored by internal/chat from our own types; anything unreadable shows as none.
	cards, question := json.RawMessage(`[]`), json.RawMessage(`null`)
	if len(m.Cards) > 0 && json.Valid(m.Cards) && m.Cards[0] == '[' {
		cards = m.Cards
	}
	if len(m.Question) > 0 && json.Valid(m.Question) && m.Question[0] == '{' {
		question = m.Question
	}
	return messageJSON{ID: m.ID, Role: m.Role, Content: m.Content, Reasoning: m.Reasoning, Cards: cards, Question: question,
		Status: m.Status, ErrorCode: m.ErrorCode, ChatID: m.ChatID, FollowUps: fu, Usage: usage,
		CreatedAt: m.CreatedAt.UTC().Format(time.RFC3339), created: m.CreatedAt}
}

// conversationWithMessages is the body of GET …/messages and the JSON export.
func conversationWithMessages(c store.Conversation, msgs []store.Message) map[string]any {
	return map[string]any{"conversation": toConversationJSON(c), "messages": mapJSON(msgs, toMessageJSON)}
}

// usageJSON answers usage in chat's one shape (null when Coze sent none).
func usageJSON(u *coze.Usage) any {
	if u := chat.UsageOf(u); u != nil {
		return u
	}
	return nil
}

// handleConversations lists the user's conversations across all bots, newest
// first; q searches titles and message text.
func (s *Server) handleConversations(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	q := r.URL.Query()
	botID, search := q.Get("bot_id"), strings.TrimSpace(q.Get("q"))
	if botID != "" && !isDigits(botID, 30) {
		writeError(w, r, badRequest("bot_id_param"))
		return
	}
	if utf8.RuneCountInString(search) > 200 || !utf8.ValidString(search) {
		writeError(w, r, badRequest("search_text"))
		return
	}
	// PostgreSQL text cannot hold NUL (a 500 there), and SQLite cuts the
	// pattern at it (issue 8 item 14).
	if strings.ContainsRune(search, 0) {
		writeError(w, r, badRequest("search_nul"))
		return
	}
	list, err := s.d.Store.ListConversations(r.Context(), u.ID, botID, search, 200)
	writeList(w, r, "conversations", list, err, toConversationJSON)
}

// conversationOf loads the user's own conversation; another user's id is a
// plain 404 (catalog case 20).
func (s *Server) conversationOf(w http.ResponseWriter, r *http.Request) (store.Conversation, bool) {
	u, _ := auth.UserFrom(r.Context())
	id, ok := pathID(w, r, "id", "conversation_id")
	if !ok {
		return store.Conversation{}, false
	}
	c, err := s.d.Store.ConversationByID(r.Context(), u.ID, id)
	if err != nil {
		writeError(w, r, err)
		return store.Conversation{}, false
	}
	return c, true
}

// conversationMessages is conversationOf with the conversation's messages,
// oldest first.
func (s *Server) conversationMessages(w http.ResponseWriter, r *http.Request) (store.Conversation, []store.Message, bool) {
	c, ok := s.conversationOf(w, r)
	if !ok {
		return c, nil, false
	}
	msgs, err := s.d.Store.Messages(r.Context(), c.UserID, c.ID)
	if err != nil {
		writeError(w, r, err)
		return c, nil, false
	}
	return c, msgs, true
}

// handleMessages returns a conversation with its messages, oldest first.
func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	c, msgs, ok := s.conversationMessages(w, r)
	if !ok {
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
		writeError(w, r, badRequest("title"))
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

// handlePin pins or unpins a conversation: {"pinned": true|false}.
func (s *Server) handlePin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Pinned *bool `json:"pinned"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.Pinned == nil {
		writeError(w, r, badRequest("pinned"))
		return
	}
	c, ok := s.conversationOf(w, r)
	if !ok {
		return
	}
	if err := s.d.Store.PinConversation(r.Context(), c.UserID, c.ID, *req.Pinned); err != nil {
		writeError(w, r, err)
		return
	}
	c.PinnedAt = time.Time{}
	if *req.Pinned {
		c.PinnedAt = s.d.Now()
	}
	writeJSON(w, http.StatusOK, toConversationJSON(c))
}

// handleDeleteConversation hides the conversation at once; it can be
// restored for UndoWindow, after which a purge removes it here and, best
// effort, at Coze.
func (s *Server) handleDeleteConversation(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversationOf(w, r)
	if !ok {
		return
	}
	if err := s.d.Store.DeleteConversationAt(r.Context(), c.UserID, c.ID, s.d.Now()); err != nil {
		writeError(w, r, err)
		return
	}
	// Purge on the next write: earlier deletions whose window has passed go
	// now; the app's periodic sweep catches the rest.
	PurgeDeleted(r.Context(), s.d)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "undo_seconds": int(UndoWindow / time.Second)})
}

// handleRestoreConversation undoes a delete within UndoWindow. Another
// user's, a live or a purged conversation is a plain 404.
func (s *Server) handleRestoreConversation(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id, ok := pathID(w, r, "id", "conversation_id")
	if !ok {
		return
	}
	if err := s.d.Store.RestoreConversation(r.Context(), u.ID, id); err != nil {
		writeError(w, r, err)
		return
	}
	c, ok := s.conversationOf(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, toConversationJSON(c))
}

// PurgeDeleted removes conversations deleted longer than UndoWindow ago and
// deletes them at Coze too; the handlers call it on each delete and the app's
// sweep every few minutes, so a deletion reaches Coze even if nobody deletes
// again. Coze keeps messages for 180 days; deleting there is courtesy, and a
// failure (say, a missing editConversation permission) must not stop ours.
func PurgeDeleted(ctx context.Context, d Deps) {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	purged, err := d.Store.PurgeDeletedConversations(ctx, now().Add(-UndoWindow))
	if err != nil {
		d.Log.WarnContext(ctx, "purge deleted conversations", "request_id", requestIDFrom(ctx), "err", err)
		return
	}
	for _, c := range purged {
		if err := d.Coze.DeleteConversation(ctx, d.Auth.Source(c.UserID), c.ID); err != nil {
			d.Log.DebugContext(ctx, "upstream conversation delete failed", "request_id", requestIDFrom(ctx), "err", err)
		}
	}
}

// handleExport downloads a conversation as Markdown or JSON (catalog case 70:
// an attachment with a safe file name and an exact Content-Type). The Markdown
// leaves the bot's thinking out unless thinking=1; cards and questions are
// written as their text.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "md"
	}
	if format != "md" && format != "json" {
		writeError(w, r, badRequest("export_format"))
		return
	}
	thinking := r.URL.Query().Get("thinking")
	if thinking != "" && thinking != "0" && thinking != "1" {
		writeError(w, r, badRequest("export_thinking"))
		return
	}
	c, msgs, ok := s.conversationMessages(w, r)
	if !ok {
		return
	}
	h := w.Header()
	h.Set("Content-Disposition", exportDisposition(c, format))
	h.Set("Cache-Control", "no-store")
	if format == "json" {
		writeJSON(w, http.StatusOK, conversationWithMessages(c, msgs))
		return
	}
	h.Set("Content-Type", "text/markdown; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(renderMarkdownExport(langOf(r), c, msgs, thinking == "1")))
}

// renderMarkdownExport writes the conversation as Markdown, its labels in
// lang. Message text is written as it was; the file is downloaded, never
// rendered by us.
func renderMarkdownExport(lang string, c store.Conversation, msgs []store.Message, thinking bool) string {
	var b strings.Builder
	title := oneLine(c.Title)
	if strings.TrimSpace(title) == "" {
		title = messages.text(lang, "history.untitled", nil)
	}
	// One h1 (the title), an h2 per message, and the messages' own headings
	// pushed below those, so the outline skips no level.
	fmt.Fprintf(&b, "# %s\n\n", title)
	bot := c.BotID
	if c.BotName != "" {
		bot = oneLine(c.BotName) + " (" + c.BotID + ")"
	}
	fmt.Fprintf(&b, "%s  \n%s  \n%s\n\n", messages.text(lang, "export.bot", map[string]any{"bot": bot}),
		messages.text(lang, "export.conversation", map[string]any{"id": c.ID}),
		messages.text(lang, "export.exported", map[string]any{"time": time.Now().UTC().Format(time.RFC3339)}))
	you, assistant := messages.text(lang, "export.you", nil), messages.text(lang, "export.assistant", nil)
	for _, m := range msgs {
		who := you
		if m.Role == "assistant" {
			who = assistant
		}
		fmt.Fprintf(&b, "## %s — %s\n\n", who, m.CreatedAt.UTC().Format(time.RFC3339))
		if thinking && m.Reasoning != "" {
			fmt.Fprintf(&b, "> **%s**\n>\n%s\n\n", messages.text(lang, "export.thinking", nil), quoteLines(demoteHeadings(m.Reasoning)))
		}
		writeCardsMarkdown(&b, m.Cards)
		if m.Content != "" {
			fmt.Fprintf(&b, "%s\n\n", demoteHeadings(m.Content))
		}
		writeQuestionMarkdown(&b, m.Question)
		if m.Status != "" && m.Status != "complete" {
			fmt.Fprintf(&b, "_(%s)_\n\n", m.Status)
		}
	}
	return b.String()
}

// exportCard is the stored card shape (internal/chat.Card) as the export reads it.
type exportCard struct {
	Title    string `json:"title"`
	Text     string `json:"text"`
	ImageURL string `json:"image_url"`
	Links    []struct {
		Text string `json:"text"`
		URL  string `json:"url"`
	} `json:"links"`
	Options []string `json:"options"`
	Unknown bool     `json:"unknown"`
}

// writeCardsMarkdown writes each card as its text: title, text, image and link
// addresses, options as a list.
func writeCardsMarkdown(b *strings.Builder, raw []byte) {
	var cards []exportCard
	if len(raw) == 0 || json.Unmarshal(raw, &cards) != nil {
		return
	}
	for _, c := range cards {
		if c.Unknown {
			b.WriteString("_(a card this app cannot show)_\n\n")
			continue
		}
		if c.Title != "" {
			fmt.Fprintf(b, "**%s**\n\n", oneLine(c.Title))
		}
		if c.Text != "" {
			fmt.Fprintf(b, "%s\n\n", demoteHeadings(c.Text))
		}
		if c.ImageURL != "" {
			fmt.Fprintf(b, "Image: <%s>\n\n", c.ImageURL)
		}
		for _, l := range c.Links {
			fmt.Fprintf(b, "- %s: <%s>\n", oneLine(l.Text), l.URL)
		}
		for _, o := range c.Options {
			fmt.Fprintf(b, "- %s\n", oneLine(o))
		}
		if len(c.Links)+len(c.Options) > 0 {
			b.WriteString("\n")
		}
	}
}

// writeQuestionMarkdown writes a workflow question and its options.
func writeQuestionMarkdown(b *strings.Builder, raw []byte) {
	var q struct {
		Text    string   `json:"text"`
		Options []string `json:"options"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &q) != nil || (q.Text == "" && len(q.Options) == 0) {
		return
	}
	if q.Text != "" {
		fmt.Fprintf(b, "%s\n\n", demoteHeadings(q.Text))
	}
	for _, o := range q.Options {
		fmt.Fprintf(b, "- %s\n", oneLine(o))
	}
	if len(q.Options) > 0 {
		b.WriteString("\n")
	}
}

// quoteLines prefixes every line with "> ".
func quoteLines(s string) string {
	return "> " + strings.ReplaceAll(s, "\n", "\n> ")
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// messageHeadingLevel is the level a message's own top heading takes in the
// export: below the title (h1) and the message's h2.
const messageHeadingLevel = 3

var (
	atxHeading    = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+|$)(.*)$`)
	atxClosing    = regexp.MustCompile(`[ \t]+#+[ \t]*$`)
	setextH1      = regexp.MustCompile(`^ {0,3}=+[ \t]*$`)
	setextH2      = regexp.MustCompile(`^ {0,3}-+[ \t]*$`)
	codeFenceOpen = regexp.MustCompile("^ {0,3}(```+|~~~+)")
)

// heading is one Markdown heading of a message: the line it starts on, how
// many lines it spans (2 for setext), its level and its text.
type heading struct {
	line, span, level int
	text              string
}

// demoteHeadings fits a message's own headings under the export's outline:
// the levels it uses keep their order but close up from h3 (a reply's "##"
// and "####" become "###" and "####"), and no heading goes more than one
// level below the one before it, so the file skips no level. Setext headings
// become ATX ones; fenced code is left alone.
func demoteHeadings(s string) string {
	lines := strings.Split(s, "\n")
	hs := findHeadings(lines)
	if len(hs) == 0 {
		return s
	}
	used := map[int]bool{}
	for _, h := range hs {
		used[h.level] = true
	}
	rank := map[int]int{}
	for l := 1; l <= 6; l++ {
		if used[l] {
			rank[l] = messageHeadingLevel + len(rank)
		}
	}
	out := make([]string, 0, len(lines))
	prev, next := messageHeadingLevel-1, 0
	for i := 0; i < len(lines); i++ {
		if next < len(hs) && hs[next].line == i {
			h := hs[next]
			level := min(rank[h.level], prev+1, 6)
			prev = level
			out = append(out, strings.TrimRight(strings.Repeat("#", level)+" "+h.text, " "))
			i += h.span - 1
			next++
			continue
		}
		out = append(out, lines[i])
	}
	return strings.Join(out, "\n")
}

// findHeadings lists the ATX and setext headings outside fenced code.
func findHeadings(lines []string) []heading {
	var hs []heading
	fence := ""
	for i, line := range lines {
		if fence != "" {
			if strings.HasPrefix(strings.TrimLeft(line, " "), fence) {
				fence = ""
			}
			continue
		}
		if m := codeFenceOpen.FindStringSubmatch(line); m != nil {
			fence = m[1]
			continue
		}
		if m := atxHeading.FindStringSubmatch(line); m != nil {
			text := strings.TrimSpace(atxClosing.ReplaceAllString(" "+m[2], ""))
			hs = append(hs, heading{line: i, span: 1, level: len(m[1]), text: text})
			continue
		}
		if i+1 < len(lines) && isParagraphLine(line) && (i == 0 || strings.TrimSpace(lines[i-1]) == "") {
			switch {
			case setextH1.MatchString(lines[i+1]):
				hs = append(hs, heading{line: i, span: 2, level: 1, text: strings.TrimSpace(line)})
			case setextH2.MatchString(lines[i+1]):
				hs = append(hs, heading{line: i, span: 2, level: 2, text: strings.TrimSpace(line)})
			}
		}
	}
	return hs
}

// isParagraphLine reports whether a line can carry a setext underline: text
// that is not blank, a heading, a list item, a quote or a fence.
func isParagraphLine(line string) bool {
	t := strings.TrimSpace(line)
	if t == "" || len(line)-len(strings.TrimLeft(line, " ")) > 3 {
		return false
	}
	switch t[0] {
	case '#', '>', '-', '*', '+', '`', '~', '|':
		return false
	}
	return true
}

// maxExportNameRunes bounds the title part of an export's file name.
const maxExportNameRunes = 80

// exportDisposition names the download after the conversation's title: an
// ASCII filename for old clients and filename* (RFC 6266/8187) in UTF-8 for
// titles in other scripts; "conversation-<id>" when the title gives nothing.
func exportDisposition(c store.Conversation, ext string) string {
	fallback := "conversation-" + c.ID
	name := cmp.Or(fileNameOf(c.Title), fallback)
	ascii := cmp.Or(fileNameOf(strings.Map(func(r rune) rune {
		if r > unicode.MaxASCII {
			return ' '
		}
		return r
	}, name)), fallback)
	return fmt.Sprintf(`attachment; filename="%s.%s"; filename*=UTF-8''%s`, ascii, ext, rfc8187Escape(name+"."+ext))
}

// fileNameOf keeps a title's letters, digits and a few safe marks, turns
// anything else (slashes, quotes, controls) into spaces, collapses spaces and
// cuts it to maxExportNameRunes; "" if nothing is left.
func fileNameOf(title string) string {
	kept := strings.Map(func(r rune) rune {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), unicode.IsMark(r), strings.ContainsRune("-_()", r):
			return r
		}
		return ' '
	}, title)
	name := strings.Join(strings.Fields(kept), " ")
	if utf8.RuneCountInString(name) > maxExportNameRunes {
		name = strings.TrimSpace(string([]rune(name)[:maxExportNameRunes]))
	}
	return name
}

// rfc8187Escape percent-encodes every byte outside RFC 8187's attr-char.
func rfc8187Escape(s string) string {
	const attrChar = "!#$&+-.^_`|~"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)) || strings.IndexByte(attrChar, c) >= 0) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
