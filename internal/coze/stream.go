package coze

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Chat SSE event names (coze-protocol §16.2).
const (
	EventChatCreated        = "conversation.chat.created"
	EventChatInProgress     = "conversation.chat.in_progress"
	EventMessageDelta       = "conversation.message.delta"
	EventMessageCompleted   = "conversation.message.completed"
	EventAudioDelta         = "conversation.audio.delta"
	EventChatCompleted      = "conversation.chat.completed"
	EventChatFailed         = "conversation.chat.failed"
	EventChatRequiresAction = "conversation.chat.requires_action"
	EventError              = "error"
	EventDone               = "done"
)

// Workflow SSE event names (coze-protocol §17.2).
const (
	WorkflowMessage   = "Message"
	WorkflowError     = "Error"
	WorkflowDone      = "Done"
	WorkflowInterrupt = "Interrupt"
	WorkflowPing      = "PING"
)

// Message decodes the event data as a Message (message.delta / message.completed).
func (e Event) Message() (Message, error) {
	var m Message
	if err := json.Unmarshal(e.Data, &m); err != nil {
		return Message{}, fmt.Errorf("coze: decode %s event: %w", e.Name, err)
	}
	return m, nil
}

// Chat decodes the event data as a Chat (conversation.chat.* events).
func (e Event) Chat() (Chat, error) {
	if c, ok := scanChat(e.Data); ok {
		return c, nil
	}
	var c Chat
	if err := json.Unmarshal(e.Data, &c); err != nil {
		return Chat{}, fmt.Errorf("coze: decode %s event: %w", e.Name, err)
	}
	return c, nil
}

// StreamError reads an error event: chat `error` {code,msg} (coze-protocol §16.2) or workflow
// `Error` {error_code,error_message} (§17.2). Missing fields or undecodable data (e.g. the
// recorded `data:{}`, §19 Q21) give code 0 and msg ""; callers show a generic error then.
func (e Event) StreamError() (code int, msg string) {
	var w struct {
		Code         flexInt    `json:"code"`
		Msg          string     `json:"msg"`
		ErrorCode    flexInt    `json:"error_code"`
		ErrorMessage flexString `json:"error_message"`
	}
	if json.Unmarshal(e.Data, &w) != nil {
		return 0, ""
	}
	code, msg = int(w.Code), w.Msg
	if code == 0 {
		code = int(w.ErrorCode)
	}
	if msg == "" {
		msg = string(w.ErrorMessage)
	}
	return code, msg
}

// ErrStreamIdle reports an event stream that sent nothing, not even a PING, for longer than
// its idle limit (Options.StreamIdleTimeout, Options.WorkflowIdleTimeout). It also matches
// ErrStreamTimeout.
var ErrStreamIdle = fmt.Errorf("coze: event stream idle: %w", ErrStreamTimeout)

// Stream is an open SSE response. Call Close when done.
type Stream struct {
	r      *EventReader
	body   io.ReadCloser
	ctx    context.Context // the request's; its cause tells an idle stop from other ends
	cancel context.CancelCauseFunc
	logID  string
	once   sync.Once
	first  *Event // read by openStream to look for a pre-run error; Next returns it first
}

// Next returns the next event: io.EOF after a clean end of body, ErrStreamCut if it ends
// mid-event, ErrEventTooLarge, ErrStreamIdle, or a wrapped network error. Workflow PING
// heartbeats are not returned: they only show the run is alive, and their bytes already
// reset the idle limit (coze-protocol E13; their data is undocumented, §19 Q15).
func (s *Stream) Next() (Event, error) {
	ev, _, err := s.next(s.r.Next)
	return ev, err
}

// LendData is EventReader.LendData for the events after the first: their Data is
// valid until the next call to Next or NextBuffered.
func (s *Stream) LendData() { s.r.LendData() }

// NextBuffered is Next without waiting (EventReader.NextBuffered): ok is false when
// the bytes received so far hold no complete event.
func (s *Stream) NextBuffered() (ev Event, ok bool, err error) {
	return s.next(s.r.nextNoWait)
}

// next returns the first event, then what read gives, PINGs left out; ok is false
// when read would have to wait (errWouldBlock).
func (s *Stream) next(read func() (Event, error)) (ev Event, ok bool, err error) {
	if first := s.first; first != nil {
		s.first = nil
		return *first, true, nil
	}
	for {
		ev, err = read()
		switch {
		case err == errWouldBlock:
			return Event{}, false, nil
		case err != nil:
			return Event{}, true, s.explain(err)
		case ev.Name != WorkflowPing:
			return ev, true, nil
		}
	}
}

// explain names an idle stop: the read it ended only saw a cancelled request.
func (s *Stream) explain(err error) error {
	if errors.Is(err, io.EOF) {
		return err
	}
	if cause := context.Cause(s.ctx); errors.Is(cause, ErrStreamIdle) {
		return fmt.Errorf("%w (%v)", cause, err)
	}
	return err
}

// LogID returns the X-Tt-Logid of the response.
func (s *Stream) LogID() string { return s.logID }

// Close closes the upstream body (stops reading). Safe to call more than once.
func (s *Stream) Close() error {
	var err error
	s.once.Do(func() {
		err = s.body.Close()
		s.cancel(errStreamClosed)
	})
	return err
}

var errStreamClosed = errors.New("coze: stream closed")

// Bounds on what Finish reads after the last event a caller needed.
const (
	finishMaxBytes = 16 << 10
	finishTimeout  = 200 * time.Millisecond
)

// Finish closes a stream whose last needed event was read (conversation.chat.completed),
// after reading what the server still sends (Coze's `done`, then the end of the body),
// at most finishMaxBytes within finishTimeout. An HTTP/1.1 connection whose body was
// read to its end goes back to the pool; closing it earlier discards it, and the next
// chat pays a new connection (and, towards Coze, a TLS handshake) before its first
// event.
func (s *Stream) Finish() error {
	t := time.AfterFunc(finishTimeout, func() { s.cancel(errStreamClosed) })
	defer t.Stop()
	_, _ = io.CopyN(io.Discard, s.r.rest(), finishMaxBytes)
	return s.Close()
}

// idleTimer is the part of *time.Timer the idle limit uses (tests substitute it).
type idleTimer interface {
	Reset(time.Duration) bool
	Stop() bool
}

func afterFunc(d time.Duration, f func()) idleTimer { return time.AfterFunc(d, f) }

// idleBody cancels the request when no byte arrives for d: a body read blocks in the
// transport, and cancelling its context is what reliably ends it.
type idleBody struct {
	io.ReadCloser
	d time.Duration
	t idleTimer
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.t.Reset(b.d)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.t.Stop()
	return b.ReadCloser.Close()
}

// openStream POSTs r and returns the event stream; silence is bounded by the chat idle
// limit. See openStreamIdle.
func (c *Client) openStream(ctx context.Context, r apiRequest) (*Stream, error) {
	return c.openStreamIdle(ctx, r, c.chatIdle)
}

// openStreamIdle POSTs r and returns the event stream. Pre-stream failures — a JSON
// response (§3.3), an SSE response whose body is a bare JSON object (§19 Q6), or one whose
// first event is an error (coze-protocol E4) — are returned as errors and no Stream.
//
// StreamHeaderTimeout bounds the wait for the response headers only. Once they say
// text/event-stream, the first event may take long (a workflow's LLM or plugin node,
// coze-protocol E13): from then on, only silence longer than idle (<= 0: none) ends the
// stream, with ErrStreamIdle.
func (c *Client) openStreamIdle(ctx context.Context, r apiRequest, idle time.Duration) (*Stream, error) {
	s, err := c.openStreamRaw(ctx, r, idle)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, needs(r.perm, err))
	}
	return s, nil
}

func (c *Client) openStreamRaw(ctx context.Context, r apiRequest, idle time.Duration) (*Stream, error) {
	return withToken(ctx, r.src, func(tok AccessToken) (*Stream, error) {
		r.tok = tok
		return c.openStreamOnce(ctx, r, idle)
	})
}

// openStreamOnce opens the stream once with r.tok.
func (c *Client) openStreamOnce(ctx context.Context, r apiRequest, idle time.Duration) (*Stream, error) {
	payload, err := json.Marshal(r.body)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(c.streamHdr, func() { cancel(ErrStreamTimeout) })
	fail := func(err error) (*Stream, error) {
		timer.Stop()
		var ne net.Error
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, ErrStreamIdle):
			err = cause
		case errors.Is(cause, ErrStreamTimeout) || (errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, ErrStreamTimeout)):
			err = fmt.Errorf("%w after %s: %w", ErrStreamTimeout, c.streamHdr, err)
		}
		cancel(err)
		return nil, err
	}
	req, err := c.newRequest(ctx, r, payload)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.shc.Do(req)
	if err != nil {
		return fail(err)
	}
	logID := resp.Header.Get("X-Tt-Logid")
	ct := strings.ToLower(resp.Header.Get("Content-Type"))
	if strings.Contains(ct, "json") || resp.StatusCode >= 400 {
		defer resp.Body.Close()
		body, rerr := readBounded(resp.Body, c.maxBody)
		if rerr != nil {
			return fail(fmt.Errorf("read response: %w", rerr))
		}
		return fail(preStreamError(resp.StatusCode, resp.Header, body, string(r.tok)))
	}
	if !timer.Stop() {
		resp.Body.Close()
		return fail(context.Cause(ctx))
	}
	var body io.ReadCloser = resp.Body
	if idle > 0 {
		body = &idleBody{ReadCloser: resp.Body, d: idle, t: c.afterFunc(idle, func() {
			cancel(fmt.Errorf("%w: nothing received for %s", ErrStreamIdle, idle))
		})}
	}
	er := NewEventReader(body, c.maxEvent)
	// The bare-JSON check and the first event are read here, bounded by idle, not by
	// StreamHeaderTimeout.
	if bare, _ := er.peekBareJSON(); bare {
		defer body.Close()
		b, rerr := readBounded(er.rest(), c.maxBody)
		if rerr != nil {
			return fail(fmt.Errorf("read response: %w", rerr))
		}
		return fail(preStreamError(resp.StatusCode, resp.Header, bytes.TrimSpace(b), string(r.tok)))
	}
	s := &Stream{r: er, body: body, ctx: ctx, cancel: cancel, logID: logID}
	// coze-protocol E4: Coze answers failures before the run starts (token invalid, bot not
	// published …) also as HTTP 200 with an event stream whose first event is `error`
	// {code,msg} (coze-studio backend/api/handler/coze/agent_run_service.go,
	// sendErrorEvent). Reading that one event here lets callers treat it exactly like the
	// JSON form (withToken's refresh-and-retry on 4100, the 4015 "publish it" answer).
	first, ferr := s.Next()
	switch {
	case ferr == nil && (first.Name == EventError || first.Name == WorkflowError):
		body.Close()
		return fail(firstEventError(resp.StatusCode, logID, first, string(r.tok)))
	case ferr != nil && !errors.Is(ferr, io.EOF):
		body.Close()
		return fail(ferr)
	case ferr == nil:
		s.first = &first
	}
	return s, nil
}

// firstEventError turns an error event that opens a stream into the *APIError the JSON
// form of the same failure gives.
func firstEventError(status int, logID string, ev Event, secrets ...string) error {
	code, msg := ev.StreamError()
	msg = scrub(msg, secrets...)
	if code == 0 && msg == "" {
		msg = "the event stream began with an error event"
	}
	return &APIError{HTTPStatus: status, Code: code, Msg: msg, LogID: logID}
}

// preStreamError turns a JSON answer to a stream request into an error; a success envelope
// is still an error here because a stream was asked for.
func preStreamError(status int, h http.Header, body []byte, secrets ...string) error {
	_, logID, err := decodeEnvelope(status, h, body, secrets...)
	if err != nil {
		return err
	}
	return &APIError{HTTPStatus: status, Msg: "expected an event stream, got a JSON body", LogID: logID}
}
