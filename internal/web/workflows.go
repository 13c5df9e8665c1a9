package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/coze"
)

type workflowJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	IconURL     string `json:"icon_url"`
	UpdatedAt   int64  `json:"updated_at"`
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
		writeError(w, r, badRequest("workspace_id must be digits.", "workspace_id 必须是数字。"))
		return
	}
	out := []workflowJSON{}
	err := s.d.Auth.Do(r.Context(), u.ID, func(ctx context.Context, tok coze.AccessToken) error {
		out = out[:0]
		for page := 1; page <= 20; page++ { // 20 pages × 30 is plenty; bounded on purpose
			p, err := s.d.Coze.ListWorkflows(ctx, tok, coze.ListWorkflowsParams{WorkspaceID: ws, WorkflowMode: "workflow", PageNum: page, PageSize: 30})
			if err != nil {
				return err
			}
			for _, wf := range p.Items {
				out = append(out, workflowJSON{ID: wf.WorkflowID, Name: wf.WorkflowName, Description: wf.Description,
					IconURL: safeImageURL(wf.IconURL), UpdatedAt: wf.UpdatedAt})
			}
			if !p.HasMore || len(p.Items) == 0 {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		writeError(w, r, needs("listWorkflow", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"workspace_id": ws, "workflows": out})
}

// handleWorkflow describes one workflow with its declared inputs.
func (s *Server) handleWorkflow(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id := r.PathValue("id")
	if !isDigits(id, 30) {
		writeError(w, r, badRequest("The workflow id must be digits.", "工作流 ID 必须是数字。"))
		return
	}
	var info coze.WorkflowInfo
	err := s.d.Auth.Do(r.Context(), u.ID, func(ctx context.Context, tok coze.AccessToken) error {
		var err error
		info, err = s.d.Coze.WorkflowInfo(ctx, tok, id, true)
		return err
	})
	if err != nil {
		writeError(w, r, needs("getMetaData", err))
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

// handleWorkflowRun runs a workflow and relays its stream (Message, Error,
// Interrupt, Done) as it arrives. Runs are not recorded; when the browser
// leaves, the upstream stream is closed.
func (s *Server) handleWorkflowRun(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id := r.PathValue("id")
	if !isDigits(id, 30) {
		writeError(w, r, badRequest("The workflow id must be digits.", "工作流 ID 必须是数字。"))
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
		writeError(w, r, badRequest("bot_id must be digits.", "bot_id 必须是数字。"))
		return
	}
	if len(req.Parameters) > 50 {
		writeError(w, r, badRequest("Too many parameters.", "参数过多。"))
		return
	}
	for k := range req.Parameters {
		if k == "" || utf8.RuneCountInString(k) > 64 {
			writeError(w, r, badRequest("Parameter names must be 1–64 characters.", "参数名须为 1–64 个字符。"))
			return
		}
	}
	s.relayWorkflow(w, r, u.ID, func(ctx context.Context, tok coze.AccessToken) (*coze.Stream, error) {
		// A workflow inside a Coze app runs only with its app_id (coze-protocol E11). The
		// page sends just the workflow id; Coze's own record says which app it is in.
		info, err := s.d.Coze.WorkflowInfo(ctx, tok, id, false)
		if err != nil {
			return nil, err
		}
		app := info.Workflow.App()
		if app != "" && req.BotID != "" {
			return nil, badRequest("This workflow belongs to a Coze app; it runs without a bot_id.", "该工作流属于一个 Coze 应用，运行时不能指定 bot_id。")
		}
		return s.d.Coze.StreamWorkflow(ctx, tok, coze.RunWorkflowRequest{WorkflowID: id, AppID: app, BotID: req.BotID, Parameters: req.Parameters})
	})
}

// handleWorkflowResume answers a workflow's question node and relays the rest.
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
		writeError(w, r, badRequest("The workflow id must be digits.", "工作流 ID 必须是数字。"))
		return
	case !validEvent:
		writeError(w, r, badRequest("event_id is not a Coze interrupt event id.", "event_id 不是有效的中断事件 ID。"))
		return
	case utf8.RuneCountInString(req.ResumeData) > maxMessageRunes:
		writeError(w, r, badRequest("The answer is too long.", "回答过长。"))
		return
	}
	s.relayWorkflow(w, r, u.ID, func(ctx context.Context, tok coze.AccessToken) (*coze.Stream, error) {
		return s.d.Coze.ResumeWorkflow(ctx, tok, coze.ResumeWorkflowRequest{WorkflowID: id, EventID: req.EventID,
			InterruptType: req.InterruptType, ResumeData: req.ResumeData})
	})
}

// errWorkflowIdle answers a run whose stream fell silent beyond the idle limit
// (COZE2APP_WORKFLOW_IDLE) before its first event.
var errWorkflowIdle = &apiError{Status: 504, Code: "upstream_idle",
	En: "The workflow sent nothing for too long, so the run was stopped.", Zh: "工作流长时间没有任何输出，运行已停止。",
	HintEn: "Retry; if it keeps happening, check the workflow in Coze or raise COZE2APP_WORKFLOW_IDLE.",
	HintZh: "请重试；如果反复出现，请在 Coze 中检查该工作流，或调大 COZE2APP_WORKFLOW_IDLE。"}

// relayWorkflow opens the upstream stream (errors before it become JSON) and
// copies each event to the browser, flushing each one.
func (s *Server) relayWorkflow(w http.ResponseWriter, r *http.Request, userID int64, open func(context.Context, coze.AccessToken) (*coze.Stream, error)) {
	rc := http.NewResponseController(w)
	// Opening returns with the run's first event, which may come minutes after
	// the headers (coze-protocol E13); the server's WriteTimeout must not cut
	// the answer that follows. Each write below sets its own deadline.
	_ = rc.SetWriteDeadline(time.Time{})
	var st *coze.Stream
	err := s.d.Auth.Do(r.Context(), userID, func(ctx context.Context, tok coze.AccessToken) error {
		var err error
		st, err = open(ctx, tok)
		return err
	})
	if err != nil {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if errors.Is(err, coze.ErrStreamIdle) {
			writeError(w, r, errWorkflowIdle)
			return
		}
		writeError(w, r, needs("run", err))
		return
	}
	defer st.Close()
	done := s.d.Metrics.StreamOpened("workflow")
	defer done()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var seq int64
	send := func(name string, data []byte) error {
		seq++
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", seq, name, data); err != nil {
			return err
		}
		return rc.Flush()
	}
	for {
		ev, err := st.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			code, msg := "upstream_reset", "The workflow stream ended unexpectedly."
			switch {
			case errors.Is(err, coze.ErrEventTooLarge):
				code = "upstream_malformed"
			case errors.Is(err, coze.ErrStreamIdle):
				code, msg = "upstream_idle", errWorkflowIdle.En
			}
			if r.Context().Err() == nil {
				_ = send("error", []byte(fmt.Sprintf(`{"code":%q,"message":%q}`, code, msg)))
			}
			return
		}
		name := strings.Map(func(c rune) rune {
			if c == '\n' || c == '\r' {
				return -1
			}
			return c
		}, ev.Name)
		// Data is one line on Coze's wire; joined multi-line data is split
		// back so no line can inject a field.
		data := strings.ReplaceAll(strings.ReplaceAll(string(ev.Data), "\r", ""), "\n", "\ndata: ")
		if name == coze.WorkflowError || name == coze.EventError {
			// Coze's error text may echo the credential it was sent (catalog case 29).
			data = coze.RedactCredentials(data)
		}
		if err := send(name, []byte(data)); err != nil {
			return
		}
	}
}
