package cozesim

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Fault is an injected failure. Faults apply in order of addition; the first
// matching fault with uses left is applied to a request.
type Fault struct {
	Endpoint   string        // "METHOD /path" like Calls keys (the concrete path or the pattern, e.g. "GET /v1/bots/{bot_id}"); "" = every API endpoint
	Times      int           // 0 = until cleared
	Latency    time.Duration // before answering (respects request ctx)
	HTTPStatus int           // answer this status with a non-JSON body (e.g. 502 "Bad Gateway")
	Code       int           // answer the envelope error {code,msg} (HTTP 200, or 401 for token codes)
	Msg        string
	OAuthError string // token endpoint: answer {error_code: OAuthError,...} with 400
	// StallHeaders never answers (until the request ctx ends).
	StallHeaders bool
	// ResetAfterWrite (token endpoint): perform the action (rotate), then
	// hijack and close the connection before the body.
	ResetAfterWrite bool

	// Stream faults (POST /v3/chat with stream=true, workflow streams). N
	// counts events already written.
	CutAfterEvents       int           // write N events, then half an event, then close
	MalformedAfterEvents int           // write N events, then a garbage data line
	ErrorAfterEvents     int           // write N events, then event:error {code,msg}
	FailAfterEvents      int           // write N events, then conversation.chat.failed
	SilentAfterEvents    int           // write N events, then stall until ctx ends
	EOFAfterEvents       int           // write N events, then close cleanly (no chat.completed/done)
	DeltaDelay           time.Duration // slow deltas
	BareJSONError        bool          // SSE content type, body a bare {code,msg} (§19 Q6)
	OversizeEvent        int           // one data line of this many bytes
	// ErrorAsFirstEvent answers the failure Code/Msg (default 4100) as HTTP
	// 200 text/event-stream whose first and only event is `error` {code,msg}
	// (workflow streams: `Error` {error_code,error_message}), the way Coze
	// reports failures before a run starts (coze-protocol E4; coze-studio
	// backend/api/handler/coze/agent_run_service.go, sendErrorEvent).
	ErrorAsFirstEvent bool
	// FirstEventDelay holds the stream's first event for this long on the
	// simulator's clock (a FakeClock waits for Advance) after the headers, as a
	// workflow whose first node thinks for minutes does (coze-protocol E13).
	// PingEvery sends a workflow PING heartbeat ("data: {}", §19 Q15) each
	// time this much of the hold has passed.
	FirstEventDelay time.Duration
	PingEvery       time.Duration
	// FinalEnding ends the stream's last event (done, Done, Interrupt, error,
	// Error, conversation.chat.failed) with a single "\n" or with nothing at
	// all instead of the blank line, as the recorded real streams do
	// (coze-protocol E2).
	FinalEnding Ending
}

// Ending is how the final event of a stream ends.
type Ending int

const (
	EndBlankLine Ending = iota // "\n\n" like every other event (the default)
	EndNewline                 // one "\n" (coze-py tests/testdata/chat_audio_stream_resp.txt)
	EndNone                    // right after the data value (coze-py tests/testdata/chat_text_stream_resp.txt)
)

// finalEvent reports the event names after which the simulator writes nothing more.
func finalEvent(name string) bool {
	switch name {
	case "done", "Done", "Interrupt", "error", "Error", "conversation.chat.failed":
		return true
	}
	return false
}

// endFrame applies f's FinalEnding to a frame that ends in "\n\n".
func (f *Fault) endFrame(name, frame string) string {
	if f == nil || !finalEvent(name) {
		return frame
	}
	switch f.FinalEnding {
	case EndNewline:
		return frame[:len(frame)-1]
	case EndNone:
		return frame[:len(frame)-2]
	}
	return frame
}

type faultState struct {
	f    Fault
	used int
}

// AddFault adds a fault.
func (s *Sim) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{f: f})
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFaultLocked finds the first matching fault with uses left and uses it.
func (s *Sim) takeFaultLocked(key, patternKey string, api bool) *Fault {
	for _, fs := range s.faults {
		if fs.f.Times > 0 && fs.used >= fs.f.Times {
			continue
		}
		ep := strings.TrimSpace(fs.f.Endpoint)
		if ep == "" && !api || ep != "" && ep != key && ep != patternKey {
			continue
		}
		fs.used++
		f := fs.f
		return &f
	}
	return nil
}

// applyFault performs the request-level part of f and reports whether the
// response was written.
func (s *Sim) applyFault(ctx context.Context, w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f.Latency > 0 {
		if !sleepCtx(ctx, f.Latency) {
			return true
		}
	}
	switch {
	case f.StallHeaders:
		<-ctx.Done()
		return true
	case f.HTTPStatus != 0:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.HTTPStatus)
		_, _ = w.Write([]byte(http.StatusText(f.HTTPStatus)))
		return true
	case f.OAuthError != "" && r.URL.Path == "/api/permission/oauth2/token":
		msg := f.Msg
		if msg == "" {
			msg = "invalid request: injected fault"
		}
		writeOAuthError(w, f.OAuthError, msg)
		return true
	case f.ErrorAsFirstEvent:
		code, msg := f.Code, f.Msg
		if code == 0 {
			code, msg = s.o.InvalidTokenCode, "authentication is invalid"
		}
		workflow := strings.HasPrefix(r.URL.Path, "/v1/workflow/")
		sw := s.newSSE(w, r, workflow)
		sw.f = f
		if workflow {
			_ = sw.raw(sw.frame("Error", compactJSON(ordered{{"error_code", code}, {"error_message", msg}})))
		} else {
			_ = sw.raw(sw.frame("error", compactJSON(ordered{{"code", code}, {"msg", msg}})))
		}
		return true
	case f.Code != 0 && !f.BareJSONError && !f.streamFault():
		msg := f.Msg
		if msg == "" {
			msg = "injected fault"
		}
		status := http.StatusOK
		if f.Code == 4100 || f.Code == 700012006 {
			status = s.o.InvalidTokenStatus
		}
		writeJSON(w, status, envelope(f.Code, msg, nil, logIDFrom(ctx)))
		return true
	case f.BareJSONError:
		code, msg := f.Code, f.Msg
		if code == 0 {
			code, msg = 4100, "authentication is invalid"
		}
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(compactJSON(envelope(code, msg, nil, "")))
		return true
	}
	return false
}

// streamFault reports whether f changes a stream rather than the request.
func (f *Fault) streamFault() bool {
	return f.CutAfterEvents > 0 || f.MalformedAfterEvents > 0 || f.ErrorAfterEvents > 0 || f.FailAfterEvents > 0 ||
		f.SilentAfterEvents > 0 || f.EOFAfterEvents > 0 || f.DeltaDelay > 0 || f.OversizeEvent > 0 ||
		f.FirstEventDelay > 0
}

// sleepCtx waits d or until ctx ends; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
