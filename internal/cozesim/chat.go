package cozesim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Chat statuses (§15.6).
const (
	statusCreated        = "created"
	statusInProgress     = "in_progress"
	statusCompleted      = "completed"
	statusFailed         = "failed"
	statusRequiresAction = "requires_action"
	statusCanceled       = "canceled"
)

type lastError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

type usage struct {
	TokenCount  int `json:"token_count"`
	OutputCount int `json:"output_count"`
	InputCount  int `json:"input_count"`
}

type chat struct {
	ID, ConvID, BotID, UserID, SectionID, Status string
	CreatedAt, CompletedAt, FailedAt             int64
	LastError                                    lastError
	Usage                                        usage
	MetaData                                     map[string]string
	AutoSave, Stream                             bool
	EnableCard                                   bool      // the request's enable_card: cards only when set
	DueAt                                        time.Time // non-stream: when it finishes
	Plan                                         *replyPlan
	Produced                                     []*message // answer, verbose, follow_up, function_call, tool_response
	RequiredAction                               ordered    `json:"-"` // a snapshot rebuilds it from Plan.ToolCall
	Finished                                     bool       // messages stored
}

func (c *chat) running() bool { return c.Status == statusCreated || c.Status == statusInProgress }

// wire renders a Chat object (§15.6). full adds section_id and usage (absent
// from the create example); forceMeta always adds meta_data (cancel example).
func (c *chat) wire(full, forceMeta bool) ordered {
	o := ordered{{"id", c.ID}, {"conversation_id", c.ConvID}, {"bot_id", c.BotID}, {"created_at", c.CreatedAt}}
	if full && c.CompletedAt != 0 && !forceMeta {
		o = append(o, field{"completed_at", c.CompletedAt})
	}
	if full && c.FailedAt != 0 {
		o = append(o, field{"failed_at", c.FailedAt})
	}
	o = append(o, field{"last_error", c.LastError}, field{"status", c.Status})
	if c.MetaData != nil || forceMeta {
		o = append(o, field{"meta_data", nonNilMap(c.MetaData)})
	}
	if full {
		if c.RequiredAction != nil {
			o = append(o, field{"required_action", c.RequiredAction})
		}
		o = append(o, field{"section_id", c.SectionID}, field{"usage", c.Usage})
	}
	return o
}

type chatBody struct {
	BotID              string            `json:"bot_id"`
	UserID             string            `json:"user_id"`
	AdditionalMessages []enterMessage    `json:"additional_messages"`
	Stream             bool              `json:"stream"`
	AutoSaveHistory    *bool             `json:"auto_save_history"`
	CustomVariables    map[string]string `json:"custom_variables"`
	MetaData           map[string]string `json:"meta_data"`
	PublishStatus      string            `json:"publish_status"`
	BotVersion         string            `json:"bot_version"`
	ConnectorID        string            `json:"connector_id"`
	Parameters         chatParameters    `json:"parameters"` // params.go
	EnableCard         bool              `json:"enable_card"`
}

// handleChat is POST /v3/chat[?conversation_id=] (§15.1, §16, §18.15–19).
func (s *Sim) handleChat(w http.ResponseWriter, r *http.Request, t *accessToken) {
	var b chatBody
	if !decodeOrFail(w, r, &b) {
		return
	}
	if b.Parameters.isString {
		failParametersString(w, r) // coze-protocol E5
		return
	}
	if b.Stream && asksForPreRunError(b) {
		// Coze reports failures before the run starts as a 200 event stream whose
		// first and only event is `error` (coze-protocol E4).
		sw := s.newSSE(w, r, false)
		_ = sw.raw(sw.frame("error", compactJSON(ordered{{"code", 5000}, {"msg", preRunErrorMsg}})))
		return
	}
	ch, e := s.startChat(t, r.URL.Query().Get("conversation_id"), b)
	if e != nil {
		fail(w, r, e)
		return
	}
	if !b.Stream {
		s.mu.Lock()
		out := ch.wire(false, false)
		s.mu.Unlock()
		ok(w, r, out)
		return
	}
	s.streamChat(w, r, ch)
}

// startChat validates the request and creates the chat record.
func (s *Sim) startChat(t *accessToken, convID string, b chatBody) (*chat, *apiError) {
	if e := accountLevel(t); e != nil {
		return nil, e
	}
	autoSave := b.AutoSaveHistory == nil || *b.AutoSaveHistory
	switch {
	case b.BotID == "":
		return nil, errf(4000, "Request parameter error: bot_id is required")
	case b.UserID == "":
		return nil, errf(4000, "Request parameter error: user_id is required")
	case !b.Stream && !autoSave:
		return nil, errf(4007, "stream=false requires auto_save_history=true")
	case len(b.AdditionalMessages) > 100:
		return nil, errf(4004, "additional_messages exceeds 100")
	case b.PublishStatus != "" && b.PublishStatus != "published_online" && b.PublishStatus != "unpublished_draft":
		return nil, errf(4000, "Request parameter error: publish_status")
	case b.PublishStatus == "unpublished_draft" && b.BotVersion != "":
		return nil, errf(4000, "Request parameter error: bot_version cannot be used with unpublished_draft")
	}
	if e := validMeta(b.MetaData); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	bt := s.botForUserLocked(t.UserID, b.BotID)
	if bt == nil {
		return nil, errf(4006, "Invalid bot_id "+b.BotID)
	}
	draft := b.PublishStatus == "unpublished_draft"
	if !draft && (bt.Published == nil || !slices.Contains(bt.Connectors, "1024")) {
		return nil, errf(4015, "The bot_id "+bt.ID+" has not been published to the channel Agent As API.")
	}
	for _, m := range b.AdditionalMessages {
		if e := s.validateEnterLocked(t.UserID, m, autoSave); e != nil {
			return nil, e
		}
	}
	if convID == "" && len(b.AdditionalMessages) == 0 {
		return nil, errf(4000, "Request parameter error: additional_messages is required without conversation_id")
	}
	var c *conversation
	if convID != "" {
		var e *apiError
		if c, e = s.convLocked(t.UserID, convID); e != nil {
			return nil, e
		}
		for _, id := range c.Chats {
			if s.chats[id].running() {
				return nil, errf(4016, "Conversation occupied: Another chat is in progress in this conversation.")
			}
		}
	} else {
		c = s.newConvLocked(t.UserID, bt.ID, b.ConnectorID)
	}
	hist := s.historyLocked(c)
	if len(b.AdditionalMessages) == 0 && len(hist) == 0 {
		return nil, errf(4000, "Request parameter error: additional_messages is required for an empty conversation")
	}
	now := s.now()
	ch := &chat{ID: s.newIDLocked(), ConvID: c.ID, BotID: bt.ID, UserID: t.UserID, SectionID: c.LastSectionID,
		Status: statusCreated, CreatedAt: now.Unix(), MetaData: b.MetaData, AutoSave: autoSave, Stream: b.Stream,
		DueAt: now.Add(s.o.ChatDelay), EnableCard: b.EnableCard}
	var query turn
	for i, m := range b.AdditionalMessages {
		tn := turn{Role: m.Role, Text: textOf(m.Content, m.ContentType)}
		if m.ContentType == "object_string" {
			tn.Items, _ = s.parseObjectStringLocked(t.UserID, m.Content)
		}
		if i == len(b.AdditionalMessages)-1 && m.Role == "user" {
			query = tn
		} else {
			hist = append(hist, tn)
		}
		if autoSave {
			s.addMessageLocked(c, m, ch.ID, bt.ID)
		}
	}
	if len(b.AdditionalMessages) == 0 || query.Role == "" {
		// Answer the conversation's last user message.
		for i := len(hist) - 1; i >= 0; i-- {
			if hist[i].Role == "user" {
				query = hist[i]
				hist = hist[:i]
				break
			}
		}
	}
	ch.Plan = s.planReply(bt, hist, query, s.pendingQuestionLocked(c, bt.ID))
	if !ch.EnableCard {
		ch.Plan.withoutCards()
	}
	s.allocPlanLocked(ch)
	c.Chats = append(c.Chats, ch.ID)
	s.chats[ch.ID] = ch
	if !b.Stream {
		ch.Status = statusInProgress // Q20: non-stream create answers in_progress
	}
	return ch, nil
}

// historyLocked returns the context turns of c's current section: question
// and answer messages of non-cancelled, saved chats (§15.4, §13.6).
func (s *Sim) historyLocked(c *conversation) []turn {
	var out []turn
	for _, m := range c.Messages {
		if m.SectionID != c.LastSectionID || (m.Type != "question" && m.Type != "answer") {
			continue
		}
		if ch := s.chats[m.ChatID]; ch != nil && (ch.Status == statusCanceled || !ch.AutoSave) {
			continue
		}
		out = append(out, turn{Role: m.Role, Text: textOf(m.Content, m.ContentType)})
	}
	return out
}

// Verbose messages (coze-protocol §16.3, E12). finish_reason 1 marks an
// answer that stopped at a workflow question (fixture chat_stream_question.sse).
const (
	verboseFinish      = `{"msg_type":"generate_answer_finish","data":"{\"finish_reason\":0,\"FinData\":\"\"}","from_module":null,"from_unit":null}`
	verboseFinishAsked = `{"msg_type":"generate_answer_finish","data":"{\"finish_reason\":1,\"FinData\":\"\"}","from_module":null,"from_unit":null}`
	verboseInterrupt   = `{"msg_type":"interrupt","data":"","from_module":null,"from_unit":null}`
)

// allocPlanLocked gives the planned messages their ids (deltas need the
// answer id before the answer is stored). Order (coze-protocol §16.3):
// [tool_response] [verbose knowledge_recall] [card answers] answer [more
// answers: cards, then texts] then either verbose interrupt + generate_answer_finish (a workflow
// question) or generate_answer_finish + follow-ups. A plan without knowledge
// or extra answers yields answer, verbose first (chatflow.go relies on it).
func (s *Sim) allocPlanLocked(ch *chat) {
	p := ch.Plan
	mk := func(typ, content string) *message {
		return &message{ID: s.newIDLocked(), ConversationID: ch.ConvID, BotID: ch.BotID, ChatID: ch.ID, SectionID: ch.SectionID,
			Role: "assistant", Type: typ, Content: content, ContentType: "text"}
	}
	p.msgs = nil
	asks := p.ToolCall != nil && p.ToolCall.Type == "reply_message"
	if p.ToolCall != nil && !asks {
		p.msgs = append(p.msgs, mk("function_call", p.ToolCall.content()))
		return
	}
	if p.Fail != nil {
		return
	}
	if p.Knowledge != "" {
		p.msgs = append(p.msgs, mk("verbose", p.Knowledge))
	}
	for _, c := range p.CardsBefore {
		m := mk("answer", c)
		m.ContentType = "card"
		p.msgs = append(p.msgs, m)
	}
	p.answer = mk("answer", p.Answer)
	p.answer.ReasoningContent = p.Reasoning
	if p.Card {
		p.answer.ContentType = "card"
	}
	p.msgs = append(p.msgs, p.answer)
	for _, c := range p.CardsAfter {
		m := mk("answer", c)
		m.ContentType = "card"
		p.msgs = append(p.msgs, m)
	}
	for _, t := range p.TextsAfter {
		p.msgs = append(p.msgs, mk("answer", t))
	}
	if asks {
		p.msgs = append(p.msgs, mk("verbose", verboseInterrupt), mk("verbose", verboseFinishAsked))
		return
	}
	p.msgs = append(p.msgs, mk("verbose", verboseFinish))
	for _, f := range p.FollowUps {
		p.msgs = append(p.msgs, mk("follow_up", f))
	}
}

// pendingQuestionLocked returns the question a workflow of bot asked in c's
// latest chat, if that chat still waits for the user's reply.
func (s *Sim) pendingQuestionLocked(c *conversation, botID string) *toolCall {
	if len(c.Chats) == 0 {
		return nil
	}
	last := s.chats[c.Chats[len(c.Chats)-1]]
	if last == nil || last.BotID != botID || last.Status != statusRequiresAction || last.Plan == nil ||
		last.Plan.ToolCall == nil || last.Plan.ToolCall.Type != "reply_message" {
		return nil
	}
	return last.Plan.ToolCall
}

// answerEvent renders a message for the stream like the captures (§16.2);
// a deep-thinking model's answer also carries reasoning_content, on every
// delta and on the completed message (fixture chat_stream_reasoning.sse).
func answerEvent(m *message, content, reasoning string) []byte {
	o := ordered{
		{"id", m.ID}, {"conversation_id", m.ConversationID}, {"bot_id", m.BotID}, {"role", m.Role}, {"type", m.Type},
		{"content", content}, {"content_type", m.ContentType}, {"chat_id", m.ChatID}, {"section_id", m.SectionID},
	}
	if m.ReasoningContent != "" {
		o = append(o, field{"reasoning_content", reasoning})
	}
	return compactJSON(o)
}

// streamMessage sends one planned message: a text answer as deltas (the
// reasoning first, with empty content, then the answer with empty
// reasoning_content), every message as completed. Cards, verbose, follow-ups
// and tool messages are never streamed as deltas (§16.2).
func (s *Sim) streamMessage(sw *sseWriter, p *replyPlan, m *message, delay time.Duration) error {
	if m.Type == "answer" && m.ContentType == "text" {
		n := 0
		delta := func(content, reasoning string) error {
			if n > 0 && sw.pause(delay) != nil {
				return errStop
			}
			n++
			return sw.event("conversation.message.delta", answerEvent(m, content, reasoning))
		}
		if m.ReasoningContent != "" {
			for _, frag := range fragments(m.ReasoningContent, p.Chunk, p.Slow) {
				if err := delta("", frag); err != nil {
					return err
				}
			}
		}
		for _, frag := range fragments(m.Content, p.Chunk, p.Slow) {
			if err := delta(frag, ""); err != nil {
				return err
			}
		}
	}
	return sw.event("conversation.message.completed", answerEvent(m, m.Content, m.ReasoningContent))
}

// streamAudio speaks the answer when the user's input held audio: real Coze
// sends conversation.audio.delta events (the answer's id, content_type
// "audio", base64 PCM) after conversation.chat.completed and before done
// (coze-py tests/testdata/chat_audio_stream_resp.txt; coze-protocol E12).
func (s *Sim) streamAudio(sw *sseWriter, p *replyPlan) error {
	if !p.Audio || p.answer == nil {
		return nil
	}
	spoken := *p.answer
	spoken.ContentType, spoken.ReasoningContent = "audio", ""
	for _, chunk := range audioChunks(3) {
		if err := sw.event("conversation.audio.delta", answerEvent(&spoken, chunk, "")); err != nil {
			return err
		}
	}
	return nil
}

// finishLocked stores the chat's produced messages and sets its terminal
// status; a cancelled chat stays cancelled.
func (s *Sim) finishLocked(ch *chat) {
	if ch.Finished {
		return
	}
	ch.Finished = true
	now := s.now().Unix()
	c := s.convs[ch.ConvID]
	for _, m := range ch.Plan.msgs {
		m.CreatedAt, m.UpdatedAt = now, now
		ch.Produced = append(ch.Produced, m)
		if ch.AutoSave && c != nil {
			c.Messages = append(c.Messages, m)
		}
	}
	p := ch.Plan
	ch.Usage = usage{InputCount: p.InputCount, OutputCount: runeLen(p.Answer)}
	ch.Usage.TokenCount = ch.Usage.InputCount + ch.Usage.OutputCount
	if ch.Status == statusCanceled {
		return
	}
	switch {
	case p.Fail != nil:
		ch.Status, ch.LastError, ch.FailedAt, ch.CompletedAt = statusFailed, *p.Fail, now, now
	case p.ToolCall != nil:
		ch.Status, ch.CompletedAt = statusRequiresAction, now
		ch.RequiredAction = p.ToolCall.requiredAction()
	default:
		ch.Status, ch.CompletedAt = statusCompleted, now
	}
}

// settleConvLocked lets due non-stream chats of c finish (§18.15).
func (s *Sim) settleConvLocked(c *conversation) {
	now := s.now()
	for _, id := range c.Chats {
		ch := s.chats[id]
		if !ch.Stream && ch.running() && !now.Before(ch.DueAt) {
			s.finishLocked(ch)
		}
	}
}

// chatLocked finds the user's chat in the conversation or returns 4001.
func (s *Sim) chatLocked(userID, convID, chatID string) (*chat, *apiError) {
	if _, e := s.convLocked(userID, convID); e != nil {
		return nil, e
	}
	ch := s.chats[chatID]
	if ch == nil || ch.ConvID != convID || !ch.AutoSave {
		return nil, errf(4001, "Invalid chat_id "+chatID)
	}
	return ch, nil
}

// handleChatRetrieve is GET or POST /v3/chat/retrieve (§15.2).
func (s *Sim) handleChatRetrieve(w http.ResponseWriter, r *http.Request, t *accessToken) {
	s.withChat(w, r, t, func(ch *chat) any { return ch.wire(true, false) })
}

// handleChatMessages is GET /v3/chat/message/list (§15.3): the chat's
// messages except the query; no paging.
func (s *Sim) handleChatMessages(w http.ResponseWriter, r *http.Request, t *accessToken) {
	s.withChat(w, r, t, func(ch *chat) any {
		data := []ordered{}
		for _, m := range ch.Produced {
			data = append(data, m.wire(true).without("meta_data"))
		}
		return data
	})
}

// withChat answers with what fn makes of the user's chat named by the
// conversation_id and chat_id query parameters, under s.mu.
func (s *Sim) withChat(w http.ResponseWriter, r *http.Request, t *accessToken, fn func(ch *chat) any) {
	q := r.URL.Query()
	if e := accountLevel(t); e != nil {
		fail(w, r, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, e := s.chatLocked(t.UserID, q.Get("conversation_id"), q.Get("chat_id"))
	if e != nil {
		fail(w, r, e)
		return
	}
	ok(w, r, fn(ch))
}

// handleChatCancel is POST /v3/chat/cancel (§15.4): ids in the JSON body.
func (s *Sim) handleChatCancel(w http.ResponseWriter, r *http.Request, t *accessToken) {
	var b struct {
		ChatID         string `json:"chat_id"`
		ConversationID string `json:"conversation_id"`
	}
	if !decodeOrFail(w, r, &b) {
		return
	}
	if e := accountLevel(t); e != nil {
		fail(w, r, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, e := s.chatLocked(t.UserID, b.ConversationID, b.ChatID)
	if e != nil {
		fail(w, r, e)
		return
	}
	if !ch.running() {
		fail(w, r, errf(4104, "The chat cannot be canceled in its current status."))
		return
	}
	ch.Status = statusCanceled // only flips the status; a stream keeps going (§15.4)
	ok(w, r, ch.wire(true, true))
}

// preRunErrorMsg is the demo's pre-run failure ("#prerun" in a message).
const preRunErrorMsg = "The run could not start (a demo of an error Coze sends before the reply)."

// asksForPreRunError reports whether the turn holds the demo trigger "#prerun".
func asksForPreRunError(b chatBody) bool {
	for _, m := range b.AdditionalMessages {
		if strings.Contains(strings.ToLower(m.Content), "#prerun") {
			return true
		}
	}
	return false
}
