package cozesim

import "net/http"

// handleChatflow is POST /v1/workflows/chat (§17.6): the chat SSE of §16
// with a space after the colons, no bot_id, and done carrying
// {"debug_url":…}. The demo chatflow WorkflowChat echoes the user turn.
func (s *Sim) handleChatflow(w http.ResponseWriter, r *http.Request, t *accessToken) {
	var b struct {
		WorkflowID         string         `json:"workflow_id"`
		AdditionalMessages []enterMessage `json:"additional_messages"`
		BotID              string         `json:"bot_id"`
		AppID              string         `json:"app_id"`
		ConversationID     string         `json:"conversation_id"`
	}
	if e := decodeBody(r, &b); e != nil {
		fail(w, r, e)
		return
	}
	if e := accountLevel(t); e != nil {
		fail(w, r, e)
		return
	}
	switch {
	case b.WorkflowID == "" || len(b.AdditionalMessages) == 0:
		fail(w, r, errf(4000, "Request parameter error: workflow_id and additional_messages are required"))
		return
	case len(b.AdditionalMessages) > 50:
		fail(w, r, errf(4004, "additional_messages exceeds 50"))
		return
	case b.BotID != "" && b.AppID != "":
		fail(w, r, errf(4000, "Request parameter error: bot_id and app_id cannot both be set"))
		return
	}
	s.mu.Lock()
	wf := s.workflows[b.WorkflowID]
	if wf == nil || !wf.Published || wf.Mode != "chatflow" || !s.canSeeSpaceLocked(t, wf.SpaceID) {
		s.mu.Unlock()
		fail(w, r, errf(4200, "Chatflow not found or not published: "+b.WorkflowID))
		return
	}
	for _, m := range b.AdditionalMessages {
		if m.ContentType == "object_string" {
			s.mu.Unlock()
			fail(w, r, errf(4000, "Request parameter error: chatflow messages must be text"))
			return
		}
		if e := s.validateEnterLocked(t.UserID, m, true); e != nil {
			s.mu.Unlock()
			fail(w, r, e)
			return
		}
	}
	var c *conversation
	if b.ConversationID != "" {
		var e *apiError
		if c, e = s.convLocked(t.UserID, b.ConversationID); e != nil {
			s.mu.Unlock()
			fail(w, r, e)
			return
		}
		for _, id := range c.Chats {
			if s.chats[id].running() {
				s.mu.Unlock()
				fail(w, r, errf(4016, "Conversation occupied: Another chat is in progress in this conversation."))
				return
			}
		}
	} else {
		c = s.newConvLocked(t.UserID, "", "", "", nil)
	}
	now := s.now()
	ch := &chat{ID: s.newIDLocked(), ConvID: c.ID, UserID: t.UserID, SectionID: c.LastSectionID, Status: statusInProgress,
		CreatedAt: now.Unix(), AutoSave: true, Stream: true}
	last := b.AdditionalMessages[len(b.AdditionalMessages)-1]
	for _, m := range b.AdditionalMessages {
		s.addMessageLocked(c, m, ch.ID, "")
	}
	ch.Plan = &replyPlan{Answer: "你说的是 / You said: " + last.Content, InputCount: runeLen(last.Content)}
	s.allocPlanLocked(ch)
	ch.Plan.msgs = ch.Plan.msgs[:2] // answer + verbose; the capture has no follow-ups
	c.Chats = append(c.Chats, ch.ID)
	s.chats[ch.ID] = ch
	execID := s.newIDLocked()
	s.mu.Unlock()

	sw := s.newSSE(w, r, false)
	sw.spaced = true
	defer func() {
		s.mu.Lock()
		s.finishLocked(ch)
		s.mu.Unlock()
	}()
	chatData := func(status string) []byte {
		s.mu.Lock()
		defer s.mu.Unlock()
		o := ch.wire(true, false).without("bot_id").with("status", status)
		return compactJSON(o)
	}
	msgData := func(m *message, content string, extra ...field) []byte {
		o := ordered{{"id", m.ID}, {"conversation_id", m.ConversationID}, {"role", m.Role}, {"type", m.Type},
			{"content", content}, {"content_type", m.ContentType}, {"chat_id", m.ChatID}, {"section_id", m.SectionID}}
		return compactJSON(append(o, extra...))
	}
	if sw.event("conversation.chat.created", chatData(statusCreated)) != nil ||
		sw.event("conversation.chat.in_progress", chatData(statusInProgress)) != nil {
		return
	}
	answer, verbose := ch.Plan.msgs[0], ch.Plan.msgs[1]
	frags := fragments(answer.Content, 0, false)
	for i, f := range frags {
		if i > 0 && sw.pause(s.o.DeltaDelay) != nil {
			return
		}
		var extra []field
		if i == len(frags)-1 {
			extra = append(extra, field{"created_at", now.Unix()})
		}
		if sw.event("conversation.message.delta", msgData(answer, f, extra...)) != nil {
			return
		}
	}
	if sw.event("conversation.message.completed", msgData(answer, answer.Content, field{"created_at", now.Unix()})) != nil ||
		sw.event("conversation.message.completed", msgData(verbose, verbose.Content, field{"created_at", now.Unix()}, field{"updated_at", now.Unix()})) != nil {
		return
	}
	s.mu.Lock()
	s.finishLocked(ch)
	s.mu.Unlock()
	if sw.event("conversation.chat.completed", chatData(statusCompleted)) != nil {
		return
	}
	_ = sw.event("done", compactJSON(ordered{{"debug_url", s.debugURL(wf, execID)}}))
}

// POST /v1/bots/{bot_id}/unpublish: removes the connector; without 1024 the
// bot answers 4015 again.
func (s *Sim) handleBotUnpublish(w http.ResponseWriter, r *http.Request, t *accessToken) {
	var b struct {
		ConnectorID string `json:"connector_id"`
	}
	if e := decodeBody(r, &b); e != nil {
		fail(w, r, e)
		return
	}
	if b.ConnectorID == "" {
		b.ConnectorID = "1024"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	bt := s.botForUserLocked(t.UserID, r.PathValue("bot_id"))
	if bt == nil {
		fail(w, r, errf(4006, "Invalid bot_id "+r.PathValue("bot_id")))
		return
	}
	var keep []string
	for _, c := range bt.Connectors {
		if c != b.ConnectorID {
			keep = append(keep, c)
		}
	}
	bt.Connectors = keep
	if len(keep) == 0 {
		bt.Published, bt.FolderID = nil, ""
	}
	okFields(w, r, nil)
}
