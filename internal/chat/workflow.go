package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/store"
)

// Our workflow events (docs/stream-contract.md, "The workflow stream"). A workflow run uses
// the chat's log, relay and resume; question and end are shared names with their own data.
const (
	EventRun    = "run"    // {"run_id","workflow_id"}: first
	EventOutput = "output" // {"node","node_title","text","finished"}: a piece of a node's output
	// EventQuestion {"event_id","interrupt_type","node_title","text","options"}
	// EventEnd      {"status","code","message","output","debug_url"}
)

// workflowBudget bounds a whole workflow stream. Coze ends a synchronous run after 10
// minutes (coze-protocol §17) and the client's idle limit ends a silent one; this is only
// the backstop for a stream that keeps sending PINGs forever.
const workflowBudget = 30 * time.Minute

// Interrupt types a person can answer with text (coze-protocol §17.1; coze-studio
// backend/api/model/workflow/workflow.go EventType_Question, EventType_InputNode). The
// others (local plugin 1 and 6, OAuth plugin 7, …) need something this app cannot give.
const (
	interruptQuestion = 2
	interruptInput    = 5
)

// WorkflowStart runs a published workflow from its start node.
type WorkflowStart struct {
	WorkflowID string
	BotID      string // optional; a workflow inside a Coze app refuses it (coze.ErrAppAndBot)
	Parameters map[string]any
}

// WorkflowAnswer resumes a run that stopped at a question (or input) node.
type WorkflowAnswer struct {
	WorkflowID    string
	EventID       string // the question event's event_id
	InterruptType int    // the question event's interrupt_type
	ResumeData    string // the user's answer
}

// workflowRun marks a Run as a workflow run: it has its own id and no history.
type workflowRun struct {
	id         string
	workflowID string
}

// RunID returns the id of a workflow run ("" for a chat).
func (r *Run) RunID() string {
	if r.wf == nil {
		return ""
	}
	return r.wf.id
}

// ValidRunID reports whether s has the shape of a workflow run id: 32 lowercase hex digits.
func ValidRunID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// StartWorkflow opens the stream of a workflow run and returns the live Run, like Start
// does for a chat: failures before the first event are returned here (*coze.APIError
// such as 4200, coze.ErrStreamIdle, coze.ErrAppAndBot, the token source's errors) so the caller can
// answer JSON; the run is then read by a goroutine owned by the Service, survives the
// browser leaving, and is found again with LookupWorkflow. Workflow runs are not recorded.
//
// The page names only the workflow: a workflow inside a Coze app runs only with that
// app's app_id (coze-protocol E11), which is taken from Coze's own record of it.
func (s *Service) StartWorkflow(ctx context.Context, u store.User, req WorkflowStart) (*Run, error) {
	switch {
	case !validID(req.WorkflowID):
		return nil, &BadRequestError{Field: "workflow_id", Reason: "must be 1-30 digits"}
	case req.BotID != "" && !validID(req.BotID):
		return nil, &BadRequestError{Field: "bot_id", Reason: "must be 1-30 digits"}
	}
	return s.startWorkflow(ctx, u, req.WorkflowID, func(ctx, runCtx context.Context, src coze.TokenSource) (*coze.Stream, error) {
		info, err := s.o.Coze.WorkflowInfo(ctx, src, req.WorkflowID, false)
		if err != nil {
			return nil, err
		}
		return s.o.Coze.StreamWorkflow(runCtx, src, coze.RunWorkflowRequest{WorkflowID: req.WorkflowID,
			AppID: info.Workflow.App(), BotID: req.BotID, Parameters: req.Parameters})
	})
}

// ResumeWorkflow answers a run's question and returns the live Run of the rest, a new
// run with its own id (Coze's resume is a new stream whose ids restart at 0, §17.3).
func (s *Service) ResumeWorkflow(ctx context.Context, u store.User, req WorkflowAnswer) (*Run, error) {
	if !validID(req.WorkflowID) {
		return nil, &BadRequestError{Field: "workflow_id", Reason: "must be 1-30 digits"}
	}
	if req.EventID == "" || len(req.EventID) > 80 || strings.Trim(req.EventID, "0123456789/") != "" {
		return nil, &BadRequestError{Field: "event_id", Reason: "not a Coze interrupt event id"}
	}
	return s.startWorkflow(ctx, u, req.WorkflowID, func(_, runCtx context.Context, src coze.TokenSource) (*coze.Stream, error) {
		return s.o.Coze.ResumeWorkflow(runCtx, src, coze.ResumeWorkflowRequest{WorkflowID: req.WorkflowID,
			EventID: req.EventID, InterruptType: req.InterruptType, ResumeData: req.ResumeData})
	})
}

// LookupWorkflow returns the live or recently finished workflow run runID if it belongs
// to userID: this instance's, else (with a Bus) one of another instance.
func (s *Service) LookupWorkflow(userID int64, runID string) (*Run, bool) {
	if r, ok := s.lookupWorkflowLocal(userID, runID); ok {
		return r, true
	}
	return s.lookupWorkflowRemote(userID, runID)
}

func (s *Service) lookupWorkflowLocal(userID int64, runID string) (*Run, bool) {
	return s.lookup(userID, runID, s.sweepWorkflowsLocked, func() map[string]*Run { return s.workflows })
}

// CancelWorkflow stops the user's workflow run runID and waits until its end event is in
// the log. Coze has no cancel for workflow runs (coze-protocol §17): closing the stream
// is the stop. A run that had already ended keeps its end. Another user's run, or one
// no longer held, is ErrNotFound.
func (s *Service) CancelWorkflow(ctx context.Context, u store.User, runID string) error {
	run, ok := s.LookupWorkflow(u.ID, runID)
	if !ok {
		return ErrNotFound
	}
	if run.remote != nil {
		if !s.cl.stopRemote(ctx, run) {
			return ErrNotFound // its instance is gone, and the run with it
		}
		return nil
	}
	run.cancel(errCanceled)
	select {
	case <-run.Done():
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// EndStatus returns the end event's status of a finished run ("" while it is live).
func (r *Run) EndStatus() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == "" {
		return ""
	}
	return endStatus(r.status)
}

// openWorkflow opens the upstream stream: ctx is the request's, runCtx the run's own.
type openWorkflow func(ctx, runCtx context.Context, src coze.TokenSource) (*coze.Stream, error)

func (s *Service) startWorkflow(ctx context.Context, u store.User, workflowID string, open openWorkflow) (*Run, error) {
	if err := s.sweepUnlessClosed(s.sweepWorkflowsLocked); err != nil {
		return nil, err
	}
	runID, err := newRunID()
	if err != nil {
		return nil, err
	}

	up, err := openDetached(ctx, workflowBudget, func(runCtx context.Context) (*coze.Stream, error) {
		return open(ctx, runCtx, s.o.Tokens.Source(u.ID))
	})
	if err != nil {
		return nil, fmt.Errorf("run workflow %s: %w", workflowID, err)
	}

	r := newRun(s, u, StartRequest{}, up.cancel)
	r.wf = &workflowRun{id: runID, workflowID: workflowID}
	r.appendJSON(EventRun, struct {
		RunID      string `json:"run_id"`
		WorkflowID string `json:"workflow_id"`
	}{runID, workflowID})
	if s.cl != nil {
		// The other instances find the run before a browser learns its id.
		evs, _, _, _ := r.after(0)
		s.cl.store(workflowKey(runID), u.ID, evs)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		up.close()
		return nil, ErrShuttingDown
	}
	s.live[r] = struct{}{}
	if s.workflows == nil {
		s.workflows = make(map[string]*Run)
	}
	s.workflows[runID] = r
	// Added under s.mu so Shutdown, which sets closed under the same lock, waits for it.
	s.wg.Go(func() {
		defer up.cancelTimeout()
		r.readWorkflow(up.ctx, up.st)
	})
	if c := s.cl; c != nil {
		s.wg.Go(func() { c.publish(r, workflowKey(runID)) })
	}
	s.mu.Unlock()
	return r, nil
}

// sweepWorkflowsLocked forgets finished workflow runs older than Retain.
func (s *Service) sweepWorkflowsLocked(now time.Time) {
	for id, r := range s.workflows {
		if end, ok := r.finishedAt(); ok && now.Sub(end) > s.o.Retain {
			delete(s.workflows, id)
		}
	}
}

func newRunID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("workflow run id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// workflowEnd is how a workflow run ended: the data of its end event.
type workflowEnd struct {
	Status   string `json:"status"`
	Code     string `json:"code"`
	Key      string `json:"key,omitempty"` // our words: the page's catalog id stream.<key>
	Message  string `json:"message"`       // Coze's own words
	Output   string `json:"output"`
	DebugURL string `json:"debug_url"`
}

// storeStatus is the Run.Status word of an end status.
func (e *workflowEnd) storeStatus() string {
	switch e.Status {
	case EndCompleted:
		return store.StatusComplete
	case EndCanceled:
		return store.StatusCanceled
	case EndFailed:
		return store.StatusFailed
	}
	return store.StatusIncomplete
}

// readWorkflow is a workflow run's only upstream reader: it translates Coze's workflow
// events (coze-protocol §17.2) into ours once and appends them to the log; the end event
// is always last.
func (r *Run) readWorkflow(ctx context.Context, st *coze.Stream) {
	defer r.svc.runEnded(r)
	defer close(r.done)
	out := workflowOutput{limit: r.svc.o.MaxLogBytes / 2}
	var end *workflowEnd
	for end == nil {
		ev, err := st.Next()
		if err != nil {
			end = r.workflowStreamEnd(ctx, err)
			break
		}
		// A terminal event (Done, Error, Interrupt) ends the reading.
		end = r.translateWorkflow(ev, &out)
	}
	st.Close()
	r.cancel(nil) // release the run context

	if end.Status != EndCompleted {
		end.Output = ""
	}
	r.appendJSON(EventEnd, end)
	r.mu.Lock()
	r.status, r.errorCode = end.storeStatus(), end.Code
	r.mu.Unlock()
	r.finish()
}

// workflowMessage is the data of a workflow Message event (coze-protocol §17.2; coze-studio
// backend/api/handler/coze/workflow_service.go streamRunData).
type workflowMessage struct {
	Content         string          `json:"content"`
	NodeTitle       string          `json:"node_title"`
	NodeID          string          `json:"node_id"`
	NodeExecuteUUID string          `json:"node_execute_uuid"`
	NodeIsFinish    json.RawMessage `json:"node_is_finish"`
}

// finished reads node_is_finish, a boolean on the wire; "true" as a string is accepted.
func (m workflowMessage) finished() bool {
	v := strings.Trim(string(m.NodeIsFinish), `"`)
	return v == "true"
}

// key names the node execution a piece belongs to; Coze's cloud sends only the title.
func (m workflowMessage) key() string {
	switch {
	case m.NodeExecuteUUID != "":
		return "x:" + m.NodeExecuteUUID
	case m.NodeID != "":
		return "i:" + m.NodeID
	}
	return "t:" + m.NodeTitle
}

// translateWorkflow decodes one Coze workflow event, appends ours for it and returns the
// end of a terminal event. PING never gets here (the coze client drops it, E13); unknown
// events are skipped.
func (r *Run) translateWorkflow(ev coze.Event, out *workflowOutput) *workflowEnd {
	malformed := func(err error) *workflowEnd {
		r.svc.log.Warn("workflow upstream event malformed", "event", ev.Name, "run_id", r.RunID(), "err", err)
		return &workflowEnd{Status: EndInterrupted, Code: "upstream_malformed", Key: "workflow.upstream_malformed"}
	}
	switch ev.Name {
	case "":
		return malformed(errors.New("event without a name"))
	case coze.WorkflowMessage:
		var m workflowMessage
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			return malformed(err)
		}
		if p := out.add(m); p != nil {
			r.appendJSON(EventOutput, p)
		}
	case coze.WorkflowInterrupt:
		var in struct {
			InterruptData struct {
				EventID string  `json:"event_id"`
				Type    flexInt `json:"type"`
				Data    string  `json:"data"`
			} `json:"interrupt_data"`
			NodeTitle string `json:"node_title"`
		}
		if err := json.Unmarshal(ev.Data, &in); err != nil {
			return malformed(err)
		}
		it := in.InterruptData
		if it.EventID == "" {
			return malformed(errors.New("interrupt without an event_id"))
		}
		if it.Type != interruptQuestion && it.Type != interruptInput {
			return &workflowEnd{Status: EndFailed, Code: "requires_action", Key: "workflow.requires_action"}
		}
		q := interruptQuestionText(it.Data)
		title := plainText(in.NodeTitle, maxItemRunes)
		if q.Text == "" && out.title == title {
			// Coze's cloud sends the question as the node's Message before the Interrupt,
			// with empty interrupt data (workflow_stream_interrupt.sse).
			q.Text = plainText(out.text.String(), maxQuestionRunes)
		}
		if q.Options == nil {
			q.Options = []string{}
		}
		r.appendJSON(EventQuestion, struct {
			EventID       string   `json:"event_id"`
			InterruptType int      `json:"interrupt_type"`
			NodeTitle     string   `json:"node_title"`
			Text          string   `json:"text"`
			Options       []string `json:"options"`
		}{it.EventID, int(it.Type), title, q.Text, q.Options})
		// The run waits for the answer: this stream ended normally.
		return &workflowEnd{Status: EndCompleted}
	case coze.WorkflowError, coze.EventError:
		// coze-studio also writes `error` with a plain-text body on internal failures
		// (workflow_service.go sendStreamRunSSE); StreamError gives 0, "" for it.
		code, msg := ev.StreamError()
		msg = plainText(coze.RedactCredentials(msg), 500)
		e := &workflowEnd{Status: EndFailed, Code: strconv.Itoa(code), Message: msg, DebugURL: eventDebugURL(ev.Data, r.svc.o.Coze.WWWBase())}
		if code == 0 {
			e.Code = "coze_error"
		}
		if e.Message == "" {
			e.Message = "Coze reported an error."
		}
		return e
	case coze.WorkflowDone:
		// {"debug_url"} in the docs, {} in a recording (coze-protocol §17.2).
		return &workflowEnd{Status: EndCompleted, Output: out.last(), DebugURL: eventDebugURL(ev.Data, r.svc.o.Coze.WWWBase())}
	}
	return nil
}

// interruptQuestionText reads a question from interrupt_data.data: plain text, or
// coze-studio's JSON history whose last question carries the text and, for a choice
// question, the options (backend/domain/workflow/internal/nodes/qa/question_answer.go
// generateHistory). Other JSON (an input node's field list) gives no text.
func interruptQuestionText(data string) Question {
	data = strings.TrimSpace(data)
	if data == "" {
		return Question{}
	}
	if data[0] != '{' && data[0] != '[' {
		return Question{Text: plainText(data, maxQuestionRunes)}
	}
	var h struct {
		Messages []struct {
			Type    string          `json:"type"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal([]byte(data), &h) != nil {
		return Question{}
	}
	for i := len(h.Messages) - 1; i >= 0; i-- {
		m := h.Messages[i]
		if m.Type != "question" {
			continue
		}
		var q Question
		var text string
		var opt struct {
			Question string `json:"question"`
			Options  []struct {
				Name string `json:"name"`
			} `json:"options"`
		}
		switch {
		case json.Unmarshal(m.Content, &text) == nil:
			q.Text = plainText(text, maxQuestionRunes)
		case json.Unmarshal(m.Content, &opt) == nil:
			q.Text = plainText(opt.Question, maxQuestionRunes)
			for _, o := range opt.Options {
				q.addOption(o.Name)
			}
		}
		return q
	}
	return Question{}
}

// eventDebugURL reads debug_url from an event's data (Done, and in coze-studio Error and
// Interrupt too) and keeps it only as an absolute http(s) URL without user info; a path
// ("/work_flow?…", as the demo simulator sends) is taken on Coze's web host, www. The
// page links it only when it is https or its own origin (the demo simulator).
func eventDebugURL(data []byte, www string) string {
	var d struct {
		DebugURL string `json:"debug_url"`
	}
	if json.Unmarshal(data, &d) != nil {
		return ""
	}
	raw := strings.TrimSpace(d.DebugURL)
	if raw == "" || len(raw) > maxURLBytes || strings.ContainsAny(raw, "\x00\r\n\t \\") {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.Scheme == "" && u.Host == "" && strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") {
		base, err := url.Parse(www)
		if err != nil || base.Host == "" {
			return ""
		}
		u = base.ResolveReference(u)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return u.String()
}

// workflowOutput groups Message pieces into numbered outputs, one per node execution,
// and keeps the text of the latest one (the end node's result once Done arrives).
type workflowOutput struct {
	limit int // bytes of text relayed per run; more is dropped
	bytes int
	node  int // number of the current output, 0 before the first
	key   string
	open  bool // the current node has not said node_is_finish
	title string
	text  strings.Builder
}

// outputPiece is the data of an output event.
type outputPiece struct {
	Node      int    `json:"node"`
	NodeTitle string `json:"node_title"`
	Text      string `json:"text"`
	Finished  bool   `json:"finished"`
}

// add takes one Message and returns the output event for it (nil when there is nothing
// to relay).
func (o *workflowOutput) add(m workflowMessage) *outputPiece {
	key, fin := m.key(), m.finished()
	if o.node == 0 || key != o.key || !o.open {
		o.node++
		o.key, o.title = key, plainText(m.NodeTitle, maxItemRunes)
		o.text.Reset()
	}
	o.open = !fin
	text := cleanText(m.Content)
	if o.bytes+len(text) > o.limit {
		text = ""
	}
	if text == "" && !fin {
		return nil
	}
	o.bytes += len(text)
	o.text.WriteString(text)
	return &outputPiece{Node: o.node, NodeTitle: o.title, Text: text, Finished: fin}
}

// last is the text of the latest output.
func (o *workflowOutput) last() string { return o.text.String() }

// workflowStreamEnd classifies why the stream broke before a terminal event.
func (r *Run) workflowStreamEnd(ctx context.Context, err error) *workflowEnd {
	if ctx.Err() != nil {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errCanceled):
			return &workflowEnd{Status: EndCanceled, Code: "canceled", Key: "canceled"}
		case errors.Is(cause, errShutdown):
			return &workflowEnd{Status: EndInterrupted, Code: "server_shutdown", Key: "workflow.server_shutdown"}
		case errors.Is(cause, errReplyTimeout):
			return &workflowEnd{Status: EndInterrupted, Code: "reply_timeout", Key: "workflow.reply_timeout"}
		}
	}
	switch {
	case errors.Is(err, coze.ErrStreamIdle):
		// The client's idle limit (COZE2APP_WORKFLOW_IDLE, coze-protocol E13).
		return &workflowEnd{Status: EndInterrupted, Code: "upstream_idle", Key: "workflow.upstream_idle"}
	case errors.Is(err, io.EOF):
		return &workflowEnd{Status: EndInterrupted, Code: "incomplete", Key: "workflow.incomplete"}
	case errors.Is(err, coze.ErrEventTooLarge):
		return &workflowEnd{Status: EndInterrupted, Code: "upstream_too_large", Key: "upstream_too_large"}
	}
	r.svc.log.Warn("workflow upstream stream broken", "run_id", r.RunID(), "err", err)
	return &workflowEnd{Status: EndInterrupted, Code: "upstream_reset", Key: "upstream_reset"}
}

// relayEndKey names the words of the end event of a relay that stops before its run
// (ServeSSE): chats point to the history, workflow runs (never recorded) cannot.
func (r *Run) relayEndKey(code string) string {
	switch {
	case r.wf == nil && code == "server_shutdown":
		return "relay_server_shutdown"
	case r.wf == nil:
		return "relay_resume_unavailable"
	case code == "server_shutdown":
		return "workflow.relay_server_shutdown"
	}
	return "workflow.relay_resume_unavailable"
}

// flexInt reads a number sent as a JSON number or a string of digits.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*n = flexInt(v)
	return nil
}
