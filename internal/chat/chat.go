// Package chat owns streaming chats with Coze bots: it opens the upstream SSE stream
// (coze-protocol §15–§16), reads it on one goroutine per reply that outlives the browser
// request (or, while a browser is attached, on that browser's relay: lease.go), keeps a bounded event log per reply so browsers can resume with Last-Event-ID,
// relays events to any number of browser connections, and records the reply in the local
// history (store).
package chat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// Defaults for Options fields left zero.
const (
	DefaultHeartbeat    = 15 * time.Second
	DefaultIdleTimeout  = 60 * time.Second
	DefaultReplyTimeout = 5 * time.Minute
	DefaultWriteTimeout = 10 * time.Second
	DefaultRetain       = 2 * time.Minute
	DefaultMaxLogBytes  = 4 << 20

	// DefaultMaxRepliesPerUser lets two tabs each compare four bots side by side.
	DefaultMaxRepliesPerUser = 8
)

// Limits on a chat request, checked before any upstream call (catalog H.54–H.56).
const (
	MaxMessageRunes = 10000
	MaxIDLen        = 30
	MaxFiles        = 10
	MaxTitleRunes   = 60
	maxBotNameRunes = 100
)

// recordTimeout bounds each history write; writes run on a context detached from the
// request (STYLE rule 12).
const recordTimeout = 5 * time.Second

// Options configures a Service. Coze, Tokens and Store are required.
type Options struct {
	Coze   *coze.Client
	Tokens TokenSources // *auth.Auth in the app
	Store  *store.Store
	Log    *slog.Logger

	Heartbeat    time.Duration // ": ping" comment while nothing is sent, default 15s
	IdleTimeout  time.Duration // no upstream event for this long => error "upstream_idle", default 60s
	ReplyTimeout time.Duration // whole reply budget, default 5m
	WriteTimeout time.Duration // per-write deadline towards the browser, default 10s
	Retain       time.Duration // keep a finished run in memory for resume, default 2m
	MaxLogBytes  int           // event log size per run before old events are dropped, default 4 MiB

	// MaxRepliesPerUser bounds one user's replies in progress, default 4. A
	// reply counts until it ends, also after its browser left (issue 8 item 3).
	MaxRepliesPerUser int

	// Metrics hooks, all optional. They are called synchronously and must be fast.
	OnRelayOpen  func()              // a browser connection started receiving a run
	OnRelayClose func()              // that connection ended
	OnRunStart   func()              // an upstream stream was opened
	OnRunEnd     func(status string) // a run was recorded with this store status

	// KeepAlive, when set, takes back an HTTP/1.1 connection whose stream a relay took
	// over (Relay) and ended with a complete response, to serve its next request; it
	// reports false when it cannot (the relay then closes it). nil: such a stream
	// answers "Connection: close".
	KeepAlive func(net.Conn) bool

	// Bus, when set, makes the instances on one PostgreSQL database act as one: a
	// reply is also written to the store's reply_events and can be resumed and
	// stopped on any of them (cluster.go). nil: replies live in memory only.
	Bus Bus
}

// TokenSources gives each user's Coze token source; the client refreshes a refused
// token through it and retries once (coze.TokenSource).
type TokenSources interface {
	Source(userID int64) coze.TokenSource
}

// Errors returned by the Service. Coze failures before the stream are returned as the
// coze package's typed errors (*coze.APIError …) and the token source's errors as they are.
var (
	// ErrBadRequest matches every *BadRequestError (web: 400 bad_request).
	ErrBadRequest = errors.New("chat: bad request")
	// ErrNotFound means the chat is unknown or belongs to another user (web: 404).
	ErrNotFound = errors.New("chat: not found")
	// ErrShuttingDown means the service no longer starts chats (web: 503).
	ErrShuttingDown = errors.New("chat: shutting down")
	// ErrTooManyReplies matches every *BusyError (web: 429).
	ErrTooManyReplies = errors.New("chat: too many replies in progress")
	// ErrBadEventID means a resume position that is malformed, in the future or no longer
	// held in the run's event log (web: 400).
	ErrBadEventID = errors.New("chat: bad last event id")
)

// BadRequestError names the request field that failed validation and a stable code the
// page can translate (web answers {"error":{"code":Code,"field":Field,…}}).
type BadRequestError struct {
	Field  string // "bot_id", "bot_name", "message", "conversation_id", "file_ids"
	Code   string // "invalid_id", "too_many_files", "empty", "too_long", "not_utf8", "contains_nul"
	Reason string // for logs and developers
}

// Error implements error.
func (e *BadRequestError) Error() string { return "chat: invalid " + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrBadRequest) true.
func (e *BadRequestError) Is(target error) bool { return target == ErrBadRequest }

// BusyError says the user already has Max replies in progress.
type BusyError struct{ Max int }

// Error implements error.
func (e *BusyError) Error() string {
	return fmt.Sprintf("chat: %d replies already in progress for this user", e.Max)
}

// Is makes errors.Is(err, ErrTooManyReplies) true.
func (e *BusyError) Is(target error) bool { return target == ErrTooManyReplies }

// StreamError is a reply that ended without completing, as returned by Complete. Code is
// one of our codes ("upstream_reset", "upstream_malformed", "upstream_too_large",
// "upstream_idle", "incomplete", "reply_timeout", "canceled", "server_shutdown",
// "requires_action"). Coze's own failures (an `error` event or conversation.chat.failed)
// come back as *coze.APIError instead.
type StreamError struct {
	Code    string
	Key     string // our words, the catalog's stream.<Key>; empty when Message holds Coze's
	Message string
}

// Error implements error.
func (e *StreamError) Error() string {
	return "chat: reply ended: " + e.Code + ": " + e.Key + e.Message
}

// StartRequest is one user turn.
type StartRequest struct {
	BotID, BotName, Message, ConversationID string
	// BotIconURL is the bot's icon for the history, as the page knew it and
	// the web layer checked it ("" = none).
	BotIconURL string
	FileIDs    []string
	// FileKinds maps file ids to "image", "audio" or "file" as sniffed by the
	// server at upload (store.UploadedFileKinds), never as the browser says;
	// an id missing here goes as "file".
	FileKinds map[string]string
}

// Result is a finished reply (the non-stream contract of POST /api/chat): the same parts
// the stream carried and the history stores.
type Result struct {
	ConversationID, ChatID, Answer string
	Reasoning                      string    // the bot's thinking ("" when none)
	Cards                          []Card    // card answers, in order
	Question                       *Question // a workflow question node asking the user, or nil
	FollowUps                      []string
	Usage                          *coze.Usage
}

// Service starts, relays, cancels and records chats. Create it with New and stop it with
// Shutdown.
type Service struct {
	o   Options
	log *slog.Logger
	wg  sync.WaitGroup // one per holder of a run's reader lease (lease.go), one per publisher

	closing chan struct{} // closed by Shutdown: relays end, no new runs
	// closingCtx is done when closing is closed: a relay blocked in an upstream read
	// ends its browser's stream from a context.AfterFunc, without a goroutine (lease.go).
	closingCtx  context.Context
	closeRelays context.CancelFunc

	// bgCtx bounds background upstream work (reconcile); cancelled when Shutdown's
	// deadline passes.
	bgCtx  context.Context
	bgStop context.CancelFunc

	mu     sync.Mutex
	closed bool
	live   map[*Run]struct{} // runs whose reader has not finished
	active map[int64]int     // replies in progress (or being opened) per user
	byChat map[string]*Run   // live and retained runs by chat id
	ended  []*Run            // chat runs in the order they ended, until swept
	// workflows holds live and retained workflow runs by run id (workflow.go).
	workflows map[string]*Run

	cl *cluster // nil without Options.Bus
}

// New returns a Service. Zero durations take the documented defaults.
func New(o Options) *Service {
	positiveOr(&o.Heartbeat, DefaultHeartbeat)
	positiveOr(&o.IdleTimeout, DefaultIdleTimeout)
	positiveOr(&o.ReplyTimeout, DefaultReplyTimeout)
	positiveOr(&o.WriteTimeout, DefaultWriteTimeout)
	positiveOr(&o.Retain, DefaultRetain)
	positiveOr(&o.MaxLogBytes, DefaultMaxLogBytes)
	positiveOr(&o.MaxRepliesPerUser, DefaultMaxRepliesPerUser)
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bgCtx, bgStop := context.WithCancel(context.Background())
	closingCtx, closeRelays := context.WithCancel(context.Background())
	s := &Service{
		closingCtx:  closingCtx,
		closeRelays: closeRelays,
		o:           o,
		log:         log,
		bgCtx:       bgCtx,
		bgStop:      bgStop,
		closing:     make(chan struct{}),
		live:        make(map[*Run]struct{}),
		active:      make(map[int64]int),
		byChat:      make(map[string]*Run),
	}
	s.cl = newCluster(s, o.Bus)
	return s
}

// CozeUserID returns the opaque user_id sent to Coze for a user: Coze isolates memory per
// value and advises against sending internal ids verbatim (coze-protocol §15.1).
func CozeUserID(u store.User) string {
	sum := sha256.Sum256([]byte(u.CozeUserID))
	return "c2a-" + hex.EncodeToString(sum[:])[:16]
}

// positiveOr sets *v to def unless it is positive.
func positiveOr[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Lookup returns the live or recently finished run of chatID if it belongs to userID:
// this instance's, else (with a Bus) one of another instance.
func (s *Service) Lookup(userID int64, chatID string) (*Run, bool) {
	if r, ok := s.lookupLocal(userID, chatID); ok {
		return r, true
	}
	return s.lookupRemote(userID, chatID)
}

func (s *Service) lookupLocal(userID int64, chatID string) (*Run, bool) {
	return s.lookup(userID, chatID, s.sweepLocked, func() map[string]*Run { return s.byChat })
}

// lookup sweeps with sweep and returns the run that runs (read under the lock) holds
// under id, if it belongs to userID.
func (s *Service) lookup(userID int64, id string, sweep func(time.Time), runs func() map[string]*Run) (*Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sweep(time.Now())
	r, ok := runs()[id]
	if !ok || r.userID != userID {
		return nil, false
	}
	return r, true
}

// sweepUnlessClosed sweeps with sweep, or returns ErrShuttingDown once the service is
// closed.
func (s *Service) sweepUnlessClosed(sweep func(time.Time)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrShuttingDown
	}
	sweep(time.Now())
	return nil
}

// register makes a run findable by its chat id once conversation.chat.created told it.
func (s *Service) register(r *Run, chatID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byChat[chatID]; ok && old != r {
		return // never let a second stream claim a chat id of another run
	}
	s.byChat[chatID] = r
}

// sweepLocked forgets finished runs older than Retain. It runs on Start and Lookup, so
// no janitor goroutine is needed. Runs are kept in the order they ended, so it looks
// only at the ones due, not at every retained run.
func (s *Service) sweepLocked(now time.Time) {
	for len(s.ended) > 0 {
		r := s.ended[0]
		if end, _ := r.finishedAt(); now.Sub(end) <= s.o.Retain {
			return
		}
		s.ended[0] = nil
		s.ended = s.ended[1:]
		if id := r.ChatID(); id != "" && s.byChat[id] == r {
			delete(s.byChat, id)
		}
	}
}

// runEnded is called by a run's reader after it recorded the reply.
func (s *Service) runEnded(r *Run) {
	s.mu.Lock()
	delete(s.live, r)
	if r.wf == nil {
		s.ended = append(s.ended, r)
	}
	s.mu.Unlock()
	s.release(r.userID)
}

// reserve takes one of the user's reply slots, or fails with *BusyError.
func (s *Service) reserve(userID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[userID] >= s.o.MaxRepliesPerUser {
		return &BusyError{Max: s.o.MaxRepliesPerUser}
	}
	s.active[userID]++
	return nil
}

func (s *Service) release(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[userID]--; s.active[userID] <= 0 {
		delete(s.active, userID)
	}
}

// RepliesInProgress returns how many replies of the user are running.
func (s *Service) RepliesInProgress(userID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active[userID]
}

// detached returns a context for a write that must land after the request is gone
// (STYLE rule 12).
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
}
