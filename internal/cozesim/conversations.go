package cozesim

import (
	"net/http"
	"sort"
	"strconv"
	"unicode/utf8"
)

type conversation struct {
	ID, Name, CreatorID, ConnectorID, BotID, LastSectionID string
	MetaData                                               map[string]string
	CreatedAt, UpdatedAt                                   int64
	Deleted                                                bool
	Messages                                               []*message // in creation order
	Chats                                                  []string   // chat ids, in creation order
}

func (c *conversation) wire() ordered {
	return ordered{
		{"id", c.ID}, {"name", c.Name}, {"meta_data", nonNilMap(c.MetaData)}, {"created_at", c.CreatedAt},
		{"creator_id", c.CreatorID}, {"connector_id", c.ConnectorID}, {"updated_at", c.UpdatedAt},
		{"last_section_id", c.LastSectionID},
	}
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// convLocked returns the user's conversation or 4002 (§18.13). It also lets
// any non-stream chat of it progress (settleLocked).
func (s *Sim) convLocked(userID, id string) (*conversation, *apiError) {
	c := s.convs[id]
	if c == nil || c.Deleted || c.CreatorID != userID {
		return nil, errf(4002, "Conversation not found or no permission: conversation_id "+id)
	}
	s.settleConvLocked(c)
	return c, nil
}

func (s *Sim) newConvLocked(userID, botID, name, connector string, meta map[string]string) *conversation {
	now := s.now().Unix()
	if connector == "" {
		connector = "1024" // §1.4: connector_id "" means API
	}
	c := &conversation{ID: s.newIDLocked(), Name: name, CreatorID: userID, ConnectorID: connector, BotID: botID,
		MetaData: meta, CreatedAt: now, UpdatedAt: now}
	c.LastSectionID = c.ID // the first section id equals the conversation id in captures
	s.convs[c.ID] = c
	return c
}

func validMeta(m map[string]string) *apiError {
	if len(m) > 16 {
		return errf(4003, "meta_data exceeds 16 pairs")
	}
	for k, v := range m {
		if n := utf8.RuneCountInString(k); n < 1 || n > 64 || utf8.RuneCountInString(v) > 512 {
			return errf(4003, "meta_data key or value too long")
		}
	}
	return nil
}

type createConvBody struct {
	BotID       string            `json:"bot_id"`
	Name        string            `json:"name"`
	Messages    []enterMessage    `json:"messages"`
	MetaData    map[string]string `json:"meta_data"`
	ConnectorID string            `json:"connector_id"`
}

// POST /v1/conversation/create (§13.1)
func (s *Sim) handleConvCreate(w http.ResponseWriter, r *http.Request, t *accessToken) {
	var b createConvBody
	if e := decodeBody(r, &b); e != nil {
		fail(w, r, e)
		return
	}
	if e := accountLevel(t); e != nil {
		fail(w, r, e)
		return
	}
	if e := validMeta(b.MetaData); e != nil {
		fail(w, r, e)
		return
	}
	if utf8.RuneCountInString(b.Name) > 100 {
		fail(w, r, errf(4000, "name exceeds 100 characters"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.BotID != "" && s.botForUserLocked(t.UserID, b.BotID) == nil {
		fail(w, r, errf(4006, "Invalid bot_id "+b.BotID))
		return
	}
	for _, m := range b.Messages {
		if e := s.validateEnterLocked(t.UserID, m, true); e != nil {
			fail(w, r, e)
			return
		}
	}
	c := s.newConvLocked(t.UserID, b.BotID, b.Name, b.ConnectorID, b.MetaData)
	for _, m := range b.Messages {
		s.addMessageLocked(c, m, "", "")
	}
	ok(w, r, c.wire())
}

// GET /v1/conversation/retrieve?conversation_id= (§13.2)
func (s *Sim) handleConvRetrieve(w http.ResponseWriter, r *http.Request, t *accessToken) {
	s.withConv(w, r, t, r.URL.Query().Get("conversation_id"), func(c *conversation) {
		ok(w, r, c.wire())
	})
}

// withConv runs fn under s.mu with the user's conversation, or writes the error.
func (s *Sim) withConv(w http.ResponseWriter, r *http.Request, t *accessToken, id string, fn func(c *conversation)) {
	if e := accountLevel(t); e != nil {
		fail(w, r, e)
		return
	}
	if id == "" {
		fail(w, r, errf(4000, "conversation_id is required"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.convLocked(t.UserID, id)
	if e != nil {
		fail(w, r, e)
		return
	}
	fn(c)
}

// GET /v1/conversations?bot_id= (§13.3)
func (s *Sim) handleConvList(w http.ResponseWriter, r *http.Request, t *accessToken) {
	q := r.URL.Query()
	if e := accountLevel(t); e != nil {
		fail(w, r, e)
		return
	}
	botID := q.Get("bot_id")
	if botID == "" {
		fail(w, r, errf(4000, "bot_id is required"))
		return
	}
	page, size := intParam(q.Get("page_num"), 1), intParam(q.Get("page_size"), 50)
	if page < 1 || size < 1 || size > 50 {
		fail(w, r, errf(4000, "page_num/page_size out of range"))
		return
	}
	connector := q.Get("connector_id")
	if connector == "" {
		connector = "1024"
	}
	asc := q.Get("sort_order") == "ASC" || q.Get("sort_order") == "asc"
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*conversation
	for _, c := range s.convs {
		if !c.Deleted && c.CreatorID == t.UserID && c.BotID == botID && c.ConnectorID == connector {
			list = append(list, c)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if asc {
			return list[i].ID < list[j].ID
		}
		return list[i].ID > list[j].ID
	})
	start := min((page-1)*size, len(list))
	end := min(start+size, len(list))
	out := make([]ordered, 0, end-start)
	for _, c := range list[start:end] {
		out = append(out, c.wire())
	}
	ok(w, r, map[string]any{"has_more": end < len(list), "conversations": out})
}

// PUT /v1/conversations/{conversation_id} (§13.4)
func (s *Sim) handleConvRename(w http.ResponseWriter, r *http.Request, t *accessToken) {
	var b struct {
		Name string `json:"name"`
	}
	if e := decodeBody(r, &b); e != nil {
		fail(w, r, e)
		return
	}
	if b.Name == "" || utf8.RuneCountInString(b.Name) > 100 {
		fail(w, r, errf(4000, "name is required (at most 100 characters)"))
		return
	}
	s.withConv(w, r, t, r.PathValue("conversation_id"), func(c *conversation) {
		c.Name = b.Name
		c.UpdatedAt = s.now().Unix()
		ok(w, r, c.wire())
	})
}

// DELETE /v1/conversations/{conversation_id} (§13.5): no data.
func (s *Sim) handleConvDelete(w http.ResponseWriter, r *http.Request, t *accessToken) {
	s.withConv(w, r, t, r.PathValue("conversation_id"), func(c *conversation) {
		c.Deleted = true
		okFields(w, r, nil)
	})
}

// POST /v1/conversations/{conversation_id}/clear (§13.6)
func (s *Sim) handleConvClear(w http.ResponseWriter, r *http.Request, t *accessToken) {
	s.withConv(w, r, t, r.PathValue("conversation_id"), func(c *conversation) {
		c.LastSectionID = s.newIDLocked()
		c.UpdatedAt = s.now().Unix()
		ok(w, r, map[string]any{"id": c.LastSectionID, "conversation_id": c.ID})
	})
}

func intParam(v string, def int) int {
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}
