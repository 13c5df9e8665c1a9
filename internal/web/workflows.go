package web

import (
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
)

// listItemJSON is what the bot and workflow lists show of each entry.
type listItemJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	IconURL     string `json:"icon_url"`
	UpdatedAt   int64  `json:"updated_at"`
}

func listItem(id, name, description, iconURL string, updatedAt int64) listItemJSON {
	return listItemJSON{ID: id, Name: name, Description: description, IconURL: safeImageURL(iconURL), UpdatedAt: updatedAt}
}

type workflowInputJSON struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Required    bool   `json:"required"`
	Description string `json:"description"`
	Default     string `json:"default"`
}

// handleWorkflows lists a workspace's published workflows (permission listWorkflow).
func (s *Server) handleWorkflows(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	ws := r.URL.Query().Get("workspace_id")
	if !isDigits(ws, 30) {
		writeError(w, r, badRequest("workspace_id"))
		return
	}
	out := []listItemJSON{}
	src := s.d.Auth.Source(u.ID)
	for page := 1; page <= 20; page++ { // 20 pages × 30 is plenty; bounded on purpose
		p, err := s.d.Coze.ListWorkflows(r.Context(), src, coze.ListWorkflowsParams{WorkspaceID: ws, WorkflowMode: "workflow", PageNum: page, PageSize: 30})
		if err != nil {
			writeError(w, r, err)
			return
		}
		for _, wf := range p.Items {
			out = append(out, listItem(wf.WorkflowID, wf.WorkflowName, wf.Description, wf.IconURL, wf.UpdatedAt))
		}
		if !p.HasMore || len(p.Items) == 0 {
			break
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"workspace_id": ws, "workflows": out})
}

// handleWorkflow describes one workflow with its declared inputs.
func (s *Server) handleWorkflow(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id, ok := pathID(w, r, "id", "workflow_id")
	if !ok {
		return
	}
	info, err := s.d.Coze.WorkflowInfo(r.Context(), s.d.Auth.Source(u.ID), id, true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	inputs := make([]workflowInputJSON, 0, len(info.Inputs))
	for name, p := range info.Inputs {
		inputs = append(inputs, workflowInputJSON{Name: name, Type: p.Type, Required: p.Required, Description: p.Description, Default: p.DefaultValue})
	}
	// Required first, then by name, so the form is stable.
	sort.Slice(inputs, func(i, j int) bool {
		if inputs[i].Required != inputs[j].Required {
			return inputs[i].Required
		}
		return inputs[i].Name < inputs[j].Name
	})
	writeJSON(w, http.StatusOK, map[string]any{"id": info.Workflow.WorkflowID, "name": info.Workflow.WorkflowName,
		"description": info.Workflow.Description, "icon_url": safeImageURL(info.Workflow.IconURL), "inputs": inputs})
}

// handleWorkflowRun runs a workflow and answers with our workflow events
// (docs/stream-contract.md: run, output, question, end). The run is read by the
// chat service, outlives this request and is resumed by run id.
func (s *Server) handleWorkflowRun(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id, ok := pathID(w, r, "id", "workflow_id")
	if !ok {
		return
	}
	var req struct {
		Parameters map[string]any `json:"parameters"`
		BotID      string         `json:"bot_id"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.BotID != "" && !isDigits(req.BotID, 30) {
		writeError(w, r, badRequest("bot_id_param"))
		return
	}
	if len(req.Parameters) > 50 {
		writeError(w, r, badRequest("too_many_parameters"))
		return
	}
	for k := range req.Parameters {
		if k == "" || utf8.RuneCountInString(k) > 64 {
			writeError(w, r, badRequest("parameter_name"))
			return
		}
	}
	// The page sends just the workflow id; the chat service takes the workflow's
	// app from Coze's own record (coze-protocol E11).
	s.relayWorkflow(w, r, func() (*chat.Run, error) {
		return s.d.Chat.StartWorkflow(r.Context(), u, chat.WorkflowStart{WorkflowID: id, BotID: req.BotID, Parameters: req.Parameters})
	})
}

// handleWorkflowResume answers a workflow's question node and relays the rest
// as a new run.
func (s *Server) handleWorkflowResume(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id := r.PathValue("id")
	var req struct {
		EventID       string `json:"event_id"`
		InterruptType int    `json:"interrupt_type"`
		ResumeData    string `json:"resume_data"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	validEvent := req.EventID != "" && len(req.EventID) <= 80 && strings.Trim(req.EventID, "0123456789/") == ""
	switch {
	case !isDigits(id, 30):
		writeError(w, r, badRequest("workflow_id"))
		return
	case !validEvent:
		writeError(w, r, badRequest("event_id_interrupt"))
		return
	case utf8.RuneCountInString(req.ResumeData) > maxMessageRunes:
		writeError(w, r, badRequest("answer_too_long"))
		return
	}
	s.relayWorkflow(w, r, func() (*chat.Run, error) {
		return s.d.Chat.ResumeWorkflow(r.Context(), u, chat.WorkflowAnswer{WorkflowID: id, EventID: req.EventID,
			InterruptType: req.InterruptType, ResumeData: req.ResumeData})
	})
}

// handleWorkflowStream re-attaches a browser to a live (or just finished)
// workflow run, sending the events after Last-Event-ID exactly once.
func (s *Server) handleWorkflowStream(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	runID := r.PathValue("run_id")
	if !chat.ValidRunID(runID) {
		writeError(w, r, badRequest("run_id"))
		return
	}
	s.serveResume(w, r, "workflow_resume", func() (*chat.Run, bool) { return s.d.Chat.LookupWorkflow(u.ID, runID) })
}

// handleWorkflowCancel is the Stop button: Coze has no cancel for workflow
// runs, so the run's stream is closed; its relays end with end{"status":"canceled"}.
func (s *Server) handleWorkflowCancel(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	runID := r.PathValue("run_id")
	var req struct{}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if !chat.ValidRunID(runID) {
		writeError(w, r, badRequest("run_id"))
		return
	}
	if err := s.d.Chat.CancelWorkflow(r.Context(), u, runID); err != nil {
		writeError(w, r, err)
		return
	}
	run, ok := s.d.Chat.LookupWorkflow(u.ID, runID)
	status := chat.EndCanceled
	if ok {
		status = run.EndStatus()
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "status": status})
}

// errWorkflowIdle answers a run whose stream fell silent beyond the idle limit
// (COZE2APP_WORKFLOW_IDLE) before its first event.
var errWorkflowIdle = fail(504, "upstream_idle")

// errAppAndBot answers a run of a Coze app's workflow that names a bot.
var errAppAndBot = badRequest("app_and_bot")

// relayWorkflow starts a run (errors before its first event become JSON) and
// relays it with the chat service's SSE writer.
func (s *Server) relayWorkflow(w http.ResponseWriter, r *http.Request, start func() (*chat.Run, error)) {
	rc := http.NewResponseController(w)
	// Opening returns with the run's first event, which may come minutes after
	// the headers (coze-protocol E13); the server's WriteTimeout must not cut
	// the answer that follows. ServeSSE sets a deadline before each write.
	_ = rc.SetWriteDeadline(time.Time{})
	run, err := start()
	if err != nil {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		switch {
		case errors.Is(err, coze.ErrStreamIdle):
			writeError(w, r, errWorkflowIdle)
		case errors.Is(err, coze.ErrAppAndBot):
			writeError(w, r, errAppAndBot)
		default:
			writeError(w, r, err)
		}
		return
	}
	s.serveRun(w, r, "workflow", run, 0)
}
