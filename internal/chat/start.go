package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// Start validates req, opens the upstream stream with the user's token and returns the
// live Run. Failures before the stream (bad input, *coze.APIError such as 4015/4016,
// the token source's errors, upstream 5xx) are returned here so the caller can answer JSON.
// The reply is then read on a goroutine owned by the Service on a context detached from
// ctx: a closed tab does not stop it. Relay it with ServeSSE.
func (s *Service) Start(ctx context.Context, u store.User, req StartRequest) (*Run, error) {
	return s.start(ctx, u, req, false)
}

// StartRelayed is Start for a caller that relays the run itself next, with ServeSSE from
// event 0: that relay holds the reader lease from the start (lease.go), so no reader
// goroutine starts and hands over, and the first events go out together with the
// response headers. The caller must call ServeSSE; until it does, nothing reads the
// reply. A relay that stops (a closed tab) hands the reading to a reader goroutine as
// any relay does.
func (s *Service) StartRelayed(ctx context.Context, u store.User, req StartRequest) (*Run, error) {
	return s.start(ctx, u, req, true)
}

func (s *Service) start(ctx context.Context, u store.User, req StartRequest, relayed bool) (*Run, error) {
	req, err := Validate(req)
	if err != nil {
		return nil, err
	}
	if len(req.FileIDs) > 0 {
		// Each file goes to Coze as the kind sniffed when this user uploaded it,
		// never as the browser says (coze-protocol E9).
		if req.FileKinds, err = s.o.Store.UploadedFileKinds(ctx, u.ID, req.FileIDs); err != nil {
			return nil, fmt.Errorf("look up the kinds of the attached files: %w", err)
		}
	}
	if err := s.sweepUnlessClosed(s.sweepLocked); err != nil {
		return nil, err
	}

	creq, err := chatRequest(u, req)
	if err != nil {
		return nil, err
	}
	// One user's share (issue 8 item 3): the slot is held from here until the
	// reader recorded the reply (runEnded), whether or not a browser watches.
	if err := s.reserve(u.ID); err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			s.release(u.ID)
		}
	}()

	// The client refreshes a refused token and retries once before it hands out the stream.
	up, err := openDetached(ctx, s.o.ReplyTimeout, func(runCtx context.Context) (*coze.Stream, error) {
		return s.o.Coze.StreamChat(runCtx, s.o.Tokens.Source(u.ID), creq)
	})
	if err != nil {
		return nil, fmt.Errorf("start chat with bot %s: %w", req.BotID, err)
	}

	r := newRun(s, u, req, up.cancel)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		up.close()
		return nil, ErrShuttingDown
	}
	if s.o.OnRunStart != nil {
		s.o.OnRunStart()
	}
	s.live[r] = struct{}{}
	started = true
	// Added under s.mu so Shutdown, which sets closed under the same lock, always waits
	// for this goroutine, or for the relay that holds the lease in its place.
	r.up = r.newUpstreamReader(up)
	if relayed {
		r.holdForRelay()
	} else {
		s.wg.Go(func() { r.read(nil) })
	}
	s.mu.Unlock()
	return r, nil
}

// upstream is a stream opened on a context of its own, detached from the request.
type upstream struct {
	st            *coze.Stream
	ctx           context.Context // the run's context: cancel it to stop the stream
	cancel        context.CancelCauseFunc
	cancelTimeout context.CancelFunc
}

// close releases a stream that will not be read.
func (u upstream) close() {
	u.st.Close()
	u.cancelTimeout()
	u.cancel(nil)
}

// openDetached opens a stream that outlives the request ctx: it lives on a context
// detached from ctx and bounded by budget, so a closed tab does not stop it; until it is
// open (for Coze, until its first event arrived) the request still cancels it. Chats and
// workflow runs both open this way.
func openDetached(ctx context.Context, budget time.Duration, open func(runCtx context.Context) (*coze.Stream, error)) (upstream, error) {
	runCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	runCtx, cancelTimeout := context.WithTimeoutCause(runCtx, budget, errReplyTimeout)
	stopEarly := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	st, err := open(runCtx)
	if !stopEarly() || err != nil {
		// Either the request ended while we were waiting for the stream, or the stream
		// never opened.
		if st != nil {
			st.Close()
		}
		cancelTimeout()
		cancel(nil)
		if err == nil {
			err = context.Cause(ctx)
		}
		return upstream{}, err
	}
	return upstream{st: st, ctx: runCtx, cancel: cancel, cancelTimeout: cancelTimeout}, nil
}

// chatRequest builds the /v3/chat body for one user turn (coze-protocol §15.1, §14.3).
// Each file goes as an item of its sniffed kind: an image as "image", audio as
// "audio", anything else as "file" (coze-protocol E9).
func chatRequest(u store.User, req StartRequest) (coze.ChatRequest, error) {
	msg := coze.EnterMessage{Role: "user", Type: "question", Content: req.Message, ContentType: "text"}
	if len(req.FileIDs) > 0 {
		var items []coze.ContentItem
		if req.Message != "" {
			// At most one text item, and only beside a file (coze-protocol §14.3).
			items = append(items, coze.ContentItem{Type: "text", Text: req.Message})
		}
		for _, id := range req.FileIDs {
			kind := req.FileKinds[id]
			if kind != coze.FileKindImage && kind != coze.FileKindAudio {
				kind = coze.FileKindFile
			}
			items = append(items, coze.ContentItem{Type: kind, FileID: id})
		}
		content, err := coze.ObjectStringContent(items)
		if err != nil {
			return coze.ChatRequest{}, fmt.Errorf("encode message with files: %w", err)
		}
		msg.Content, msg.ContentType = content, "object_string"
	}
	return coze.ChatRequest{
		BotID:              req.BotID,
		UserID:             CozeUserID(u),
		ConversationID:     req.ConversationID,
		AdditionalMessages: []coze.EnterMessage{msg},
		// Without it a workflow question's options arrive as plain text and
		// the page cannot offer them as buttons (docs/stream-contract.md).
		EnableCard: true,
	}, nil
}

// Validate checks every field before anything goes upstream (catalog H.54–H.56). It is
// the only place chat input is judged: web passes the request through and maps the
// *BadRequestError. A message may be empty when it carries files (the page lets you
// send an attachment alone).
func Validate(req StartRequest) (StartRequest, error) {
	bad := func(field, code, reason string) (StartRequest, error) {
		return req, &BadRequestError{Field: field, Code: code, Reason: reason}
	}
	if !validID(req.BotID) {
		return bad("bot_id", "invalid_id", "must be 1-30 digits")
	}
	if req.ConversationID != "" && !validID(req.ConversationID) {
		return bad("conversation_id", "invalid_id", "must be 1-30 digits")
	}
	if len(req.FileIDs) > MaxFiles {
		return bad("file_ids", "too_many_files", fmt.Sprintf("at most %d files", MaxFiles))
	}
	for _, id := range req.FileIDs {
		if !validID(id) {
			return bad("file_ids", "invalid_id", "each id must be 1-30 digits")
		}
	}
	if utf8.RuneCountInString(req.BotName) > maxBotNameRunes {
		return bad("bot_name", "too_long", fmt.Sprintf("at most %d characters", maxBotNameRunes))
	}
	req.Message = strings.TrimSpace(req.Message)
	switch {
	case !utf8.ValidString(req.Message):
		return bad("message", "not_utf8", "not valid UTF-8")
	case req.Message == "" && len(req.FileIDs) == 0:
		return bad("message", "empty", "no text and no files")
	case utf8.RuneCountInString(req.Message) > MaxMessageRunes:
		return bad("message", "too_long", fmt.Sprintf("longer than %d characters", MaxMessageRunes))
	case strings.ContainsRune(req.Message, 0):
		// PostgreSQL text cannot hold NUL; refuse it rather than lose it.
		return bad("message", "contains_nul", "contains NUL")
	}
	req.BotName = cleanText(req.BotName)
	return req, nil
}

// ValidID reports whether s looks like a Coze id: 1–30 ASCII digits. Anything else is
// refused before it can reach an upstream URL (catalog H.55).
func ValidID(s string) bool { return validID(s) }

func validID(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// title is the local conversation title: the first message on one line, cut to
// MaxTitleRunes on a rune boundary.
func title(msg string) string {
	t := strings.Join(strings.Fields(msg), " ")
	return cutRunes(t, MaxTitleRunes)
}

// cutRunes returns at most n runes of s.
func cutRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// cleanText makes upstream or user text storable on both backends: valid UTF-8, no NUL.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}

// Sentinel causes for ending a run's context, mapped to outcomes in the reader.
var (
	errReplyTimeout = errors.New("reply timeout")
	errIdle         = errors.New("upstream idle")
	errCanceled     = errors.New("canceled by user")
	errShutdown     = errors.New("server shutdown")
)
