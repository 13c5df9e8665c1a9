package cozesim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// errStop ends a stream early (fault or client gone).
var errStop = errors.New("stream stopped")

// sseWriter writes events in the chat framing "event:X\ndata:Y\n\n" (§16.1)
// or the workflow framing "id: n\nevent: X\ndata: Y\n\n" (§17.2), flushing
// each one, and applies stream faults.
type sseWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	ctx      context.Context
	f        *Fault
	n        int // events written
	seq      int // frames written, PING heartbeats included: the workflow id: line
	held     bool
	sleep    func(context.Context, time.Duration) bool // on the simulator's clock
	workflow bool
	spaced   bool          // chat framing with a space after the colon (chatflow capture)
	onFail   func() []byte // chat: data of conversation.chat.failed
	errSent  *lastError    // set when an error event ended the stream
}

func (s *Sim) newSSE(w http.ResponseWriter, r *http.Request, workflow bool) *sseWriter {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // this stream only
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	return &sseWriter{w: w, rc: rc, ctx: r.Context(), f: faultFrom(r.Context()), workflow: workflow, sleep: s.sleep}
}

func (sw *sseWriter) frame(name string, data []byte) string {
	format := "event:%[2]s\ndata:%[3]s\n\n"
	switch {
	case sw.workflow:
		format = "id: %[1]d\nevent: %[2]s\ndata: %[3]s\n\n"
	case sw.spaced:
		format = "event: %[2]s\ndata: %[3]s\n\n"
	}
	return sw.f.endFrame(name, fmt.Sprintf(format, sw.seq, name, data))
}

func (sw *sseWriter) raw(s string) error {
	if sw.ctx.Err() != nil {
		return errStop
	}
	if _, err := sw.w.Write([]byte(s)); err != nil {
		return errStop
	}
	if err := sw.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return errStop
	}
	return nil
}

// hold waits f.FirstEventDelay on the simulator's clock before the first event,
// with a workflow PING every f.PingEvery of it.
func (sw *sseWriter) hold(f *Fault) error {
	sw.held = true
	for left := f.FirstEventDelay; left > 0; {
		step := left
		if f.PingEvery > 0 && f.PingEvery < step {
			step = f.PingEvery
		}
		if !sw.sleep(sw.ctx, step) {
			return errStop
		}
		left -= step
		if left > 0 && f.PingEvery > 0 && sw.workflow {
			if err := sw.raw(sw.frame("PING", []byte("{}"))); err != nil {
				return err
			}
			sw.seq++
		}
	}
	return nil
}

// event writes one event unless a fault ends the stream first.
func (sw *sseWriter) event(name string, data []byte) error {
	if f := sw.f; f != nil && f.FirstEventDelay > 0 && !sw.held {
		if err := sw.hold(f); err != nil {
			return err
		}
	}
	if f := sw.f; f != nil {
		switch n := sw.n; {
		case f.CutAfterEvents > 0 && n == f.CutAfterEvents:
			frame := sw.frame(name, data)
			_ = sw.raw(frame[:len(frame)/2])
			return errStop
		case f.MalformedAfterEvents > 0 && n == f.MalformedAfterEvents:
			_ = sw.raw(sw.frame(name, []byte(`{"id":"broken",,"content":`)))
			return errStop
		case f.ErrorAfterEvents > 0 && n == f.ErrorAfterEvents:
			code, msg := f.Code, f.Msg
			if code == 0 {
				code, msg = 4013, "模型错误 / model error"
			}
			if sw.workflow {
				_ = sw.raw(sw.frame("Error", compactJSON(ordered{{"error_code", code}, {"error_message", msg}})))
			} else {
				_ = sw.raw(sw.frame("error", compactJSON(ordered{{"code", code}, {"msg", msg}})))
			}
			sw.errSent = &lastError{Code: code, Msg: msg}
			return errStop
		case f.FailAfterEvents > 0 && n == f.FailAfterEvents:
			if sw.workflow {
				_ = sw.raw(sw.frame("Error", compactJSON(map[string]any{"error_code": 5000, "error_message": "workflow failed"})))
			} else if sw.onFail != nil {
				_ = sw.raw(sw.frame("conversation.chat.failed", sw.onFail()))
			}
			return errStop
		case f.SilentAfterEvents > 0 && n == f.SilentAfterEvents:
			<-sw.ctx.Done()
			return errStop
		case f.EOFAfterEvents > 0 && n == f.EOFAfterEvents:
			return errStop
		}
	}
	if err := sw.raw(sw.frame(name, data)); err != nil {
		return err
	}
	sw.n++
	sw.seq++
	return nil
}

func (sw *sseWriter) pause(d time.Duration) error {
	if sw.f != nil && sw.f.DeltaDelay > d {
		d = sw.f.DeltaDelay
	}
	if !sleepCtx(sw.ctx, d) {
		return errStop
	}
	return nil
}

// messageEvent renders a message for the stream: the keys of the captured
// events (§16.2).
func messageEvent(m *message, content string) []byte {
	return compactJSON(ordered{
		{"id", m.ID}, {"conversation_id", m.ConversationID}, {"bot_id", m.BotID}, {"role", m.Role}, {"type", m.Type},
		{"content", content}, {"content_type", m.ContentType}, {"chat_id", m.ChatID}, {"section_id", m.SectionID},
	})
}

// streamChat sends a chat as SSE (§16.3). It returns when the chat is done
// or the client disconnects; in both cases the chat is finished and saved
// (§19 Q13 reading A).
// It starts with chat.created, so a client can always take the ids from the
// first event (§16.3 rule 1).
func (s *Sim) streamChat(w http.ResponseWriter, r *http.Request, ch *chat) {
	sw := s.newSSE(w, r, false)
	chatData := func(status string) []byte {
		s.mu.Lock()
		defer s.mu.Unlock()
		o := ch.wire(true, false)
		if status != "" {
			o = o.with("status", status)
		}
		return compactJSON(o)
	}
	failed := false
	sw.onFail = func() []byte {
		failed = true
		s.mu.Lock()
		now := s.now().Unix()
		if ch.Status != statusCanceled {
			ch.Status, ch.FailedAt, ch.CompletedAt = statusFailed, now, now
			ch.LastError = lastError{Code: 5000, Msg: "event interval error"}
		}
		s.mu.Unlock()
		return chatData("")
	}
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if e := sw.errSent; e != nil && !failed && ch.Status != statusCanceled {
			// A stream-level error fails the chat too.
			now := s.now().Unix()
			ch.Status, ch.LastError, ch.FailedAt, ch.CompletedAt = statusFailed, *e, now, now
			failed = true
		}
		if !failed {
			s.finishLocked(ch)
		} else {
			ch.Finished = true
		}
	}()
	p := ch.Plan
	if sw.event("conversation.chat.created", chatData(statusCreated)) != nil {
		return
	}
	s.mu.Lock()
	if ch.Status == statusCreated {
		ch.Status = statusInProgress
	}
	s.mu.Unlock()
	if sw.event("conversation.chat.in_progress", chatData(statusInProgress)) != nil {
		return
	}
	if sw.f != nil && sw.f.OversizeEvent > 0 && p.answer != nil {
		big := strings.Repeat("x", sw.f.OversizeEvent)
		if sw.event("conversation.message.delta", messageEvent(p.answer, big)) != nil {
			return
		}
	}
	if p.Fail != nil {
		failed = true
		s.mu.Lock()
		now := s.now().Unix()
		if ch.Status != statusCanceled {
			ch.Status, ch.FailedAt, ch.CompletedAt, ch.LastError = statusFailed, now, now, *p.Fail
		}
		s.mu.Unlock()
		_ = sw.event("conversation.chat.failed", chatData(""))
		return // Q16: no done after failed
	}
	delay := s.o.DeltaDelay
	if p.Slow && delay < 50*time.Millisecond {
		delay = 50 * time.Millisecond
	}
	for _, m := range p.msgs {
		if s.streamMessage(sw, p, m, delay) != nil { // chat.go
			return
		}
	}
	s.mu.Lock()
	s.finishLocked(ch)
	s.mu.Unlock()
	if p.ToolCall != nil {
		if sw.event("conversation.chat.requires_action", chatData(statusRequiresAction)) != nil {
			return
		}
	} else if sw.event("conversation.chat.completed", chatData(statusCompleted)) != nil {
		return
	} else if s.streamAudio(sw, p) != nil { // chat.go: only after chat.completed
		return
	}
	_ = sw.event("done", []byte(`"[DONE]"`))
}
