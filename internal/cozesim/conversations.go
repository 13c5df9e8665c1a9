package cozesim

import (
	"net/http"
	"strconv"
	"unicode/utf8"
)

type conversation struct {
	ID, CreatorID, ConnectorID, BotID, LastSectionID string
	CreatedAt                                        int64
	Deleted                                          bool
	Messages                                         []*message // in creation order
	Chats                                            []string   // chat ids, in creation order
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

func (s *Sim) newConvLocked(userID, botID, connector string) *conversation {
	now := s.now().Unix()
	if connector == "" {
		connector = "1024" // §1.4: connector_id "" means API
	}
	c := &conversation{ID: s.newIDLocked(), CreatorID: userID, ConnectorID: connector, BotID: botID, CreatedAt: now}
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

// DELETE /v1/conversations/{conversation_id} (§13.5): no data.
func (s *Sim) handleConvDelete(w http.ResponseWriter, r *http.Request, t *accessToken) {
	s.withConv(w, r, t, r.PathValue("conversation_id"), func(c *conversation) {
		c.Deleted = true
		okFields(w, r, nil)
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
