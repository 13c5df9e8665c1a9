package chat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
)

// Event names we add to a run's log next to Coze's own.
const (
	// EventError is the name of our error events; data {"code":"…","message":"…"}.
	// Coze's own `error` event has the same name with data {"code":int,"msg":"…"}.
	EventError = "error"
	// EventCanceled ends a run stopped by the user; data {"code":"canceled"}.
	EventCanceled = "canceled"
)

// outcome is how a run ended, in store terms.
type outcome struct {
	status  string // complete | incomplete | canceled | failed
	code    string // store ErrorCode
	message string // for our error event and StreamError
	coze    *coze.APIError
}

// read is the run's only upstream reader. It relays every event to the log, accumulates
// the reply, and records it at the end. ctx is the detached run context.
func (r *Run) read(ctx context.Context, st *coze.Stream) {
	s := r.svc
	// Done closes after the run left the live set and freed its user's slot,
	// so whoever waited on it may start the next reply at once.
	defer close(r.done)
	defer s.runEnded(r)

	// Idle watchdog (catalog F.46): cancelling the request context is what reliably
	// unblocks a body read.
	idle := time.AfterFunc(s.o.IdleTimeout, func() { r.cancel(errIdle) })
	var (
		rep reply
		out *outcome // set by a terminal upstream event
	)
	for {
		ev, err := st.Next()
		if err != nil {
			if out == nil {
				out = r.streamEnd(ctx, err)
				if out.status == "canceled" {
					r.append(EventCanceled, []byte(`{"code":"canceled"}`))
				} else {
					r.append(EventError, errorData(out.code, out.message))
				}
			}
			break
		}
		idle.Reset(s.o.IdleTimeout)
		data := ev.Data // the reader hands out a fresh slice per event
		o, bad := r.observe(ev, &rep)
		if bad != nil {
			out = bad
			r.append(EventError, errorData(out.code, out.message))
			break
		}
		if ev.Name == coze.EventError || ev.Name == coze.EventChatFailed {
			// Coze's error text may echo the access token it was sent; the data
			// is otherwise relayed unchanged (catalog case 29).
			data = coze.RedactCredentialsBytes(data)
		}
		r.append(sanitizeName(ev.Name), data)
		if o != nil && out == nil {
			out = o
		}
		if ev.Name == coze.EventDone {
			break
		}
	}
	idle.Stop()
	st.Close()
	r.cancel(nil) // release the run context

	r.recordEnd(*out, &rep)
	r.finish()
	if s.o.OnRunEnd != nil {
		s.o.OnRunEnd(out.status)
	}
	if out.status == "incomplete" && out.code != "server_shutdown" {
		// Shutdown has a deadline; a restart reconciles instead (catalog J.66).
		r.reconcile()
	}
}

// observe decodes the events we record. It returns the outcome of a terminal event, or
// bad when an event we must understand does not decode (catalog F.45).
func (r *Run) observe(ev coze.Event, rep *reply) (o, bad *outcome) {
	malformed := func(err error) *outcome {
		r.svc.log.Warn("chat upstream event malformed", "event", ev.Name, "err", err)
		return &outcome{status: "incomplete", code: "upstream_malformed", message: "The reply could not be read."}
	}
	if ev.Name == "" {
		return nil, malformed(errors.New("event without a name"))
	}
	if ev.Name != coze.EventDone && !json.Valid(ev.Data) {
		// Chat stream data is always one line of JSON (REFERENCE §16.1); relaying
		// anything else would hand the browser garbage.
		return nil, malformed(errors.New("data is not JSON"))
	}
	switch ev.Name {
	case coze.EventChatCreated, coze.EventChatInProgress:
		c, err := ev.Chat()
		if err != nil {
			return nil, malformed(err)
		}
		if c.ID != "" && c.ConversationID != "" {
			r.identify(c.ConversationID, c.ID)
		}
	case coze.EventMessageDelta, coze.EventMessageCompleted:
		m, err := ev.Message()
		if err != nil {
			return nil, malformed(err)
		}
		rep.add(m, ev.Name == coze.EventMessageCompleted, r.svc.o.MaxLogBytes)
	case coze.EventChatCompleted:
		c, err := ev.Chat()
		if err != nil {
			return nil, malformed(err)
		}
		rep.usage = c.Usage
		return &outcome{status: "complete"}, nil
	case coze.EventChatFailed:
		c, err := ev.Chat()
		if err != nil {
			return nil, malformed(err)
		}
		o := &outcome{status: "failed", code: "chat_failed", message: "The bot failed to answer."}
		if c.LastError != nil && c.LastError.Code != 0 {
			o.code = strconv.Itoa(c.LastError.Code)
			o.coze = &coze.APIError{HTTPStatus: 200, Code: c.LastError.Code, Msg: c.LastError.Msg}
		}
		return o, nil
	case coze.EventChatRequiresAction:
		return &outcome{status: "failed", code: "requires_action", message: "The bot needs a local plugin, which this app does not run."}, nil
	case coze.EventError:
		code, msg := ev.StreamError()
		return &outcome{status: "failed", code: strconv.Itoa(code), message: msg,
			coze: &coze.APIError{HTTPStatus: 200, Code: code, Msg: msg}}, nil
	}
	return nil, nil
}

// streamEnd classifies why Next failed before a terminal event.
func (r *Run) streamEnd(ctx context.Context, err error) *outcome {
	if ctx.Err() != nil {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errCanceled):
			return &outcome{status: "canceled", code: "canceled", message: "Stopped."}
		case errors.Is(cause, errIdle):
			return &outcome{status: "incomplete", code: "upstream_idle", message: "Coze stopped sending the reply."}
		case errors.Is(cause, errShutdown):
			return &outcome{status: "incomplete", code: "server_shutdown", message: "The server is restarting."}
		case errors.Is(cause, errReplyTimeout):
			return &outcome{status: "incomplete", code: "reply_timeout", message: "The reply took too long."}
		}
	}
	switch {
	case errors.Is(err, io.EOF):
		return &outcome{status: "incomplete", code: "incomplete", message: "The reply ended early."}
	case errors.Is(err, coze.ErrEventTooLarge):
		return &outcome{status: "incomplete", code: "upstream_too_large", message: "Coze sent an event that is too large."}
	}
	// coze.ErrStreamCut, connection resets and other read errors.
	r.svc.log.Warn("chat upstream stream broken", "chat_id", r.ChatID(), "err", err)
	return &outcome{status: "incomplete", code: "upstream_reset", message: "The connection to Coze was lost."}
}

// identify learns the conversation and chat ids, makes the run findable and records the
// turn's start.
func (r *Run) identify(convID, chatID string) {
	r.mu.Lock()
	known := r.chatID != ""
	if !known {
		r.convID, r.chatID = convID, chatID
	}
	r.mu.Unlock()
	if known {
		return
	}
	r.svc.register(r, chatID)
	// The three writes of the turn's start run beside the relay, so the first
	// delta does not wait for the database; recordEnd waits for them. The
	// reader goroutine is itself counted in wg, so this Add cannot race Wait.
	r.started = make(chan struct{})
	r.svc.wg.Go(func() {
		defer close(r.started)
		r.recordStart(convID, chatID)
	})
}

// errorData is the body of our error event.
func errorData(code, message string) []byte {
	b, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, message})
	return b
}

// sanitizeName keeps an event name on one line (the upstream reader never gives more,
// but a name must not be able to inject SSE fields).
func sanitizeName(name string) string {
	if strings.ContainsAny(name, "\r\n") {
		return strings.NewReplacer("\r", "", "\n", "").Replace(name)
	}
	return name
}

// reply accumulates the answer as REFERENCE §16.3 describes: deltas append per message
// id, message.completed replaces, several answers are joined by a blank line.
type reply struct {
	order     []string
	text      map[string]string
	bytes     int
	followUps []string
	usage     *coze.Usage
}

func (rep *reply) add(m coze.Message, completed bool, limit int) {
	switch {
	case m.Type == "answer" || (m.Type == "" && m.Role != "user"):
		if rep.text == nil {
			rep.text = make(map[string]string)
		}
		old, seen := rep.text[m.ID]
		if !seen {
			rep.order = append(rep.order, m.ID)
		}
		next := old + m.Content
		if completed {
			next = m.Content
		}
		if rep.bytes-len(old)+len(next) > limit {
			return // keep memory bounded; the stored answer stops growing
		}
		rep.bytes += len(next) - len(old)
		rep.text[m.ID] = next
	case m.Type == "follow_up" && completed:
		rep.followUps = append(rep.followUps, cleanText(m.Content))
	}
}

func (rep *reply) answer() string {
	parts := make([]string, 0, len(rep.order))
	for _, id := range rep.order {
		if t := rep.text[id]; t != "" {
			parts = append(parts, t)
		}
	}
	return cleanText(strings.Join(parts, "\n\n"))
}
