package cozesim

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// The demo keeps the simulator's durable state across restarts (issue 10
// item 5): Snapshot writes it as JSON, Restore loads it into a fresh Sim, and
// Options.OnChange says when a new snapshot is worth taking. What a snapshot
// holds: the id counter (ids never repeat), live access and refresh tokens,
// bots (demo bots as edited or published, and created ones), uploaded files'
// metadata, conversations with their messages and chats. What it leaves out:
// the request log and call counters, faults, pending authorizations and
// codes (minutes long), workflow runs (one stream each).
//
// Everything is bounded: the newest entries of each kind are kept, so a
// snapshot stays below maxSnapshotBytes however long the demo runs.
const (
	snapshotFormat = 1

	maxSnapshotConvs    = 500  // newest conversations
	maxSnapshotMessages = 200  // newest messages of each
	maxSnapshotChats    = 100  // newest chats of each
	maxSnapshotBots     = 500  // newest bots created through the API (demo bots always)
	maxSnapshotFiles    = 2000 // newest uploaded files (metadata only)
	maxSnapshotTokens   = 2000 // newest live tokens of each kind
	// maxSnapshotBytes caps the encoded snapshot; the oldest conversations
	// go first until it fits.
	maxSnapshotBytes = 8 << 20
)

// snapshot is the JSON form; field names are the structs' own.
type snapshot struct {
	Format  int                      `json:"format"`
	Seq     uint64                   `json:"seq"`
	Bots    []*bot                   `json:"bots"` // in list order
	Files   []*file                  `json:"files"`
	Convs   []*conversation          `json:"conversations"`
	Chats   []*chat                  `json:"chats"`
	Access  map[string]*accessToken  `json:"access_tokens"`
	Refresh map[string]*refreshToken `json:"refresh_tokens"`
}

// Snapshot returns the simulator's durable state as JSON, for Restore after a
// restart. It holds live tokens: store it as a secret.
func (s *Sim) Snapshot() ([]byte, error) {
	s.mu.Lock()
	snap := s.snapshotLocked()
	s.mu.Unlock()
	for {
		b, err := json.Marshal(snap)
		if err != nil {
			return nil, fmt.Errorf("cozesim snapshot: %w", err)
		}
		if len(b) <= maxSnapshotBytes || len(snap.Convs) == 0 {
			return b, nil
		}
		snap.dropOldestConvs(max(1, len(snap.Convs)/4))
	}
}

// snapshotLocked copies what a snapshot holds, trimmed to the bounds. The
// copies are deep where the simulator mutates in place (conversations, chats).
func (s *Sim) snapshotLocked() *snapshot {
	now := s.now()
	snap := &snapshot{Format: snapshotFormat, Seq: s.seq, Access: map[string]*accessToken{}, Refresh: map[string]*refreshToken{}}

	created := 0
	for _, id := range slices.Backward(s.botOrder) {
		b := s.bots[id]
		if generatedID(id) {
			if created++; created > maxSnapshotBots {
				continue
			}
		}
		cp := *b
		snap.Bots = append(snap.Bots, &cp)
	}
	slices.Reverse(snap.Bots)

	snap.Files = newest(slices.Collect(maps.Values(s.files)), maxSnapshotFiles, func(f *file) string { return f.ID })

	convs := newest(slices.Collect(maps.Values(s.convs)), maxSnapshotConvs, func(c *conversation) string { return c.ID })
	for _, c := range convs {
		cp := *c
		cp.Messages = clipTail(c.Messages, maxSnapshotMessages)
		cp.Chats = nil
		for _, id := range clipTail(c.Chats, maxSnapshotChats) {
			ch := s.chats[id]
			if ch == nil {
				continue
			}
			chc := *ch
			chc.Produced = slices.Clone(ch.Produced)
			snap.Chats = append(snap.Chats, &chc)
			cp.Chats = append(cp.Chats, id)
		}
		snap.Convs = append(snap.Convs, &cp)
	}

	live := func(exp time.Time, dead bool) bool { return !dead && now.Before(exp) }
	for _, k := range newestKeys(s.access, maxSnapshotTokens, func(t *accessToken) time.Time { return t.Expires }) {
		if t := s.access[k]; live(t.Expires, t.Revoked) {
			cp := *t
			snap.Access[k] = &cp
		}
	}
	for _, k := range newestKeys(s.refresh, maxSnapshotTokens, func(t *refreshToken) time.Time { return t.Expires }) {
		if t := s.refresh[k]; live(t.Expires, t.Revoked || t.Used) {
			cp := *t
			snap.Refresh[k] = &cp
		}
	}
	return snap
}

// generatedID reports whether id was made by newIDLocked, not demo data.
func generatedID(id string) bool { return len(id) == 19 && id >= idBaseString }

var idBaseString = fmt.Sprintf("%019d", uint64(idBase))

// dropOldestConvs removes the n oldest conversations and their chats.
func (snap *snapshot) dropOldestConvs(n int) {
	gone := map[string]bool{}
	for _, c := range snap.Convs[len(snap.Convs)-n:] { // newest first
		gone[c.ID] = true
	}
	snap.Convs = snap.Convs[:len(snap.Convs)-n]
	snap.Chats = slices.DeleteFunc(snap.Chats, func(ch *chat) bool { return gone[ch.ConvID] })
}

// newest returns at most n items, newest (highest id) first. Generated ids
// increase with creation order (ids.go).
func newest[T any](items []T, n int, id func(T) string) []T {
	slices.SortFunc(items, func(a, b T) int { return cmp.Compare(id(b), id(a)) })
	return items[:min(n, len(items))]
}

// newestKeys returns at most n keys of m, latest expiry first.
func newestKeys[T any](m map[string]T, n int, exp func(T) time.Time) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return exp(m[b]).Compare(exp(m[a])) })
	return keys[:min(n, len(keys))]
}

func clipTail[T any](xs []T, n int) []T {
	return slices.Clone(xs[max(0, len(xs)-n):])
}

// Restore loads a Snapshot into the simulator, replacing its bots, files,
// conversations, chats and tokens; call it before serving. A chat that was
// still running when the snapshot was taken is restored as canceled: its
// stream ended with the process.
func (s *Sim) Restore(data []byte) error {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("cozesim restore: %w", err)
	}
	if snap.Format != snapshotFormat {
		return fmt.Errorf("cozesim restore: snapshot format %d, want %d", snap.Format, snapshotFormat)
	}
	if err := snap.check(); err != nil {
		return fmt.Errorf("cozesim restore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq = max(s.seq, snap.Seq)
	if len(snap.Bots) > 0 {
		s.bots, s.botOrder = map[string]*bot{}, nil
		for _, b := range snap.Bots {
			s.bots[b.ID] = b
			s.botOrder = append(s.botOrder, b.ID)
		}
	}
	s.files = map[string]*file{}
	for _, f := range snap.Files {
		s.files[f.ID] = f
	}
	s.chats = map[string]*chat{}
	for _, ch := range snap.Chats {
		if ch.running() {
			ch.Status, ch.Finished = statusCanceled, true
		}
		if ch.Status == statusRequiresAction && ch.Plan != nil && ch.Plan.ToolCall != nil {
			ch.RequiredAction = ch.Plan.ToolCall.requiredAction()
		}
		s.chats[ch.ID] = ch
	}
	s.convs = map[string]*conversation{}
	for _, c := range snap.Convs {
		c.Chats = slices.DeleteFunc(c.Chats, func(id string) bool { return s.chats[id] == nil })
		s.convs[c.ID] = c
	}
	s.access = nonNilTokens(snap.Access)
	s.refresh = nonNilTokens(snap.Refresh)
	return nil
}

// check refuses a snapshot whose entries lack their ids or are null, which
// the handlers could not serve.
func (snap *snapshot) check() error {
	for _, b := range snap.Bots {
		if b == nil || b.ID == "" {
			return errors.New("a bot without an id")
		}
	}
	for _, f := range snap.Files {
		if f == nil || f.ID == "" {
			return errors.New("a file without an id")
		}
	}
	for _, c := range snap.Convs {
		if c == nil || c.ID == "" || slices.Contains(c.Messages, nil) {
			return errors.New("a conversation without an id or with a null message")
		}
	}
	for _, ch := range snap.Chats {
		if ch == nil || ch.ID == "" {
			return errors.New("a chat without an id")
		}
	}
	for _, t := range snap.Access {
		if t == nil {
			return errors.New("a null access token")
		}
	}
	for _, t := range snap.Refresh {
		if t == nil {
			return errors.New("a null refresh token")
		}
	}
	return nil
}

func nonNilTokens[T any](m map[string]T) map[string]T {
	if m == nil {
		return map[string]T{}
	}
	return m
}
