package cozesim

import (
	"maps"
	"net/http"
	"net/url"
)

// IssueToken mints an access/refresh pair for the user (for the first app)
// without the OAuth dance.
func (s *Sim) IssueToken(userID string) (access, refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, r, _ := s.issueLocked(userID, s.o.Apps[0].ClientID, "")
	return a, r
}

// Calls returns how often an endpoint was called. Keys are "METHOD /path"
// (path without prefix, e.g. "POST /v3/chat"; a path with ids is also counted
// under its pattern, e.g. "GET /v1/bots/{bot_id}") and "token:<grant_type>".
func (s *Sim) Calls(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[key]
}

// AllCalls returns a copy of every call counter.
func (s *Sim) AllCalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Requests returns a copy of every request received, oldest first.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.requests.all()
	for i, r := range out {
		r.Query = url.Values(http.Header(r.Query).Clone())
		r.Header = r.Header.Clone()
		r.Body = append([]byte(nil), r.Body...)
		out[i] = r
	}
	return out
}

// ResetCalls clears the call counters and the request log.
func (s *Sim) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.requests.reset()
}

// ExpireAccessTokens makes every live access token of the user invalid (4100).
func (s *Sim) ExpireAccessTokens(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	revokeUser(s.access, userID, func(t *accessToken) (string, *bool) { return t.UserID, &t.Revoked })
}

// RevokeRefreshTokens makes every refresh token of the user invalid.
func (s *Sim) RevokeRefreshTokens(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	revokeUser(s.refresh, userID, func(t *refreshToken) (string, *bool) { return t.UserID, &t.Revoked })
}

// revokeUser marks every token of the user in m revoked; owner returns a token's user and
// its Revoked flag.
func revokeUser[T any](m map[string]*T, userID string, owner func(*T) (string, *bool)) {
	for _, t := range m {
		if u, revoked := owner(t); u == userID {
			*revoked = true
		}
	}
}

// RevokeGrant is the person removing the app's authorization at Coze: every
// access and refresh token of the user stops working at once.
func (s *Sim) RevokeGrant(userID string) {
	s.ExpireAccessTokens(userID)
	s.RevokeRefreshTokens(userID)
}

// ChatStatus returns the status of a chat ("created", "in_progress",
// "completed", "failed", "requires_action", "canceled").
func (s *Sim) ChatStatus(convID, chatID string) (status string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.chats[chatID]
	if ch == nil || ch.ConvID != convID {
		return "", false
	}
	if c := s.convs[convID]; c != nil {
		s.settleConvLocked(c)
	}
	return ch.Status, true
}

// ConversationCount returns how many live conversations the user has.
func (s *Sim) ConversationCount(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.convs {
		if c.CreatorID == userID && !c.Deleted {
			n++
		}
	}
	return n
}

// NewConversation creates an empty conversation of the user's with the bot, a
// test's starting point (the app's conversations start with their first chat).
func (s *Sim) NewConversation(userID, botID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newConvLocked(userID, botID, "").ID
}

// MessageTypes returns the type of each message the conversation keeps, in
// order ("question", "answer", "verbose", "follow_up", …).
func (s *Sim) MessageTypes(convID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var types []string
	if c := s.convs[convID]; c != nil {
		for _, m := range c.Messages {
			types = append(types, m.Type)
		}
	}
	return types
}

// BotPublished reports whether the bot is published to the API connector.
func (s *Sim) BotPublished(botID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bots[botID]
	return b != nil && b.Published != nil
}

// AuthorizationHeaders returns the Authorization headers received per Host
// (for "tokens travel only in Authorization" checks).
func (s *Sim) AuthorizationHeaders() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for _, r := range s.requests.all() {
		if a := r.Header.Get("Authorization"); a != "" {
			out[r.Host] = append(out[r.Host], a)
		}
	}
	return out
}
