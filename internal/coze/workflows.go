package coze

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
)

// Workflow is a workflow list item or info's workflow_detail (coze-protocol §17.4, §17.5).
type Workflow struct {
	WorkflowID   string `json:"workflow_id"`
	WorkflowName string `json:"workflow_name"`
	Description  string `json:"description"`
	IconURL      string `json:"icon_url"`
	AppID        string `json:"app_id"`
	CreatorID    string `json:"creator_id"`
	CreatorName  string `json:"creator_name"`
	CreatedAt    int64  `json:"created_at"`
	UpdatedAt    int64  `json:"updated_at"`
}

// App returns the id of the Coze app the workflow belongs to, "" when none (the wire says
// "0"). Such a workflow runs only with that app_id (coze-protocol E11).
func (w Workflow) App() string {
	if w.AppID == "0" {
		return ""
	}
	return w.AppID
}

// UnmarshalJSON reads the nested creator {id,name} and string or numeric timestamps.
func (w *Workflow) UnmarshalJSON(b []byte) error {
	if err := decodeLoose(b, w); err != nil {
		return err
	}
	var x struct {
		Creator *struct {
			ID   flexString `json:"id"`
			Name string     `json:"name"`
		} `json:"creator"`
	}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	if x.Creator != nil {
		w.CreatorID, w.CreatorName = string(x.Creator.ID), x.Creator.Name
	}
	return nil
}

// ListWorkflowsParams selects workflows (§17.4).
type ListWorkflowsParams struct {
	WorkspaceID   string
	WorkflowMode  string // "" all; workflow / chatflow
	PublishStatus string
	PageNum       int // required by Coze; 0 => 1
	PageSize      int
}

// WorkflowPage is one page of workflows.
type WorkflowPage struct {
	Items   []Workflow `json:"items"`
	HasMore bool       `json:"has_more"`
}

// WorkflowParam describes one start-node input.
type WorkflowParam struct {
	Type         string `json:"type"`
	Required     bool   `json:"required"`
	Description  string `json:"description"`
	DefaultValue string `json:"default_value"`
}

// UnmarshalJSON keeps a non-string default_value as its JSON text.
func (p *WorkflowParam) UnmarshalJSON(b []byte) error {
	var w struct {
		Type         string          `json:"type"`
		Required     bool            `json:"required"`
		Description  string          `json:"description"`
		DefaultValue json.RawMessage `json:"default_value"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = WorkflowParam{Type: w.Type, Required: w.Required, Description: w.Description}
	if hasData(w.DefaultValue) {
		if json.Unmarshal(w.DefaultValue, &p.DefaultValue) != nil {
			p.DefaultValue = string(w.DefaultValue)
		}
	}
	return nil
}

// WorkflowInfo is GET /v1/workflows/{id} (§17.5).
type WorkflowInfo struct {
	Workflow Workflow                 `json:"workflow"`
	Inputs   map[string]WorkflowParam `json:"inputs,omitempty"`
	Output   json.RawMessage          `json:"output,omitempty"`
}

// RunWorkflowRequest runs a workflow (§17.1, §17.2).
type RunWorkflowRequest struct {
	WorkflowID string
	BotID      string // for workflows that need a bot's context (database, variables)
	AppID      string // required for a workflow inside a Coze app (Workflow.App); "0" = none; never with BotID
	Parameters map[string]any
	IsAsync    bool // non-stream only
	Ext        map[string]string
}

// WorkflowRun is the flat answer of POST /v1/workflow/run (§2: data is a JSON string).
type WorkflowRun struct {
	Data          string          `json:"data"`
	ExecuteID     string          `json:"execute_id,omitempty"`
	DebugURL      string          `json:"debug_url,omitempty"`
	Usage         *Usage          `json:"usage,omitempty"`
	InterruptData json.RawMessage `json:"interrupt_data,omitempty"`
}

// ResumeWorkflowRequest resumes an interrupted run (§17.3).
type ResumeWorkflowRequest struct {
	WorkflowID    string `json:"workflow_id"`
	EventID       string `json:"event_id"`
	ResumeData    string `json:"resume_data"`
	InterruptType int    `json:"interrupt_type"`
}

// ListWorkflows lists workflows: GET /v1/workflows.
func (c *Client) ListWorkflows(ctx context.Context, ts TokenSource, p ListWorkflowsParams) (WorkflowPage, error) {
	q := url.Values{}
	setIf(q, "workspace_id", p.WorkspaceID)
	setIf(q, "workflow_mode", p.WorkflowMode)
	setIf(q, "publish_status", p.PublishStatus)
	q.Set("page_num", strconv.Itoa(max(p.PageNum, 1)))
	setIntIf(q, "page_size", p.PageSize)
	return callInto[WorkflowPage](ctx, c, apiRequest{method: http.MethodGet, path: "/v1/workflows", query: q, src: ts, perm: "listWorkflow"})
}

// WorkflowInfo reads a workflow: GET /v1/workflows/{id}[?include_input_output=true].
func (c *Client) WorkflowInfo(ctx context.Context, ts TokenSource, workflowID string, includeIO bool) (WorkflowInfo, error) {
	q := url.Values{}
	if includeIO {
		q.Set("include_input_output", "true")
	}
	var w struct {
		WorkflowDetail Workflow `json:"workflow_detail"`
		Input          *struct {
			Parameters map[string]WorkflowParam `json:"parameters"`
		} `json:"input"`
		Output json.RawMessage `json:"output"`
	}
	err := c.callData(ctx, apiRequest{method: http.MethodGet, path: "/v1/workflows/" + seg(workflowID), query: q, src: ts, perm: "getMetaData"}, &w)
	out := WorkflowInfo{Workflow: w.WorkflowDetail}
	if w.Input != nil {
		out.Inputs = w.Input.Parameters
	}
	if hasData(w.Output) {
		out.Output = w.Output
	}
	return out, err
}

// ErrAppAndBot refuses a run with both app_id and bot_id, which Coze rejects with 4000
// (coze-protocol E11).
var ErrAppAndBot = errors.New("coze: a workflow runs with app_id or bot_id, not both")

// body builds the run body; it refuses app_id together with bot_id.
func (r RunWorkflowRequest) body(async bool) (runBody, error) {
	app := r.AppID
	if app == "0" {
		app = ""
	}
	if app != "" && r.BotID != "" {
		return runBody{}, ErrAppAndBot
	}
	return runBody{WorkflowID: r.WorkflowID, BotID: r.BotID, AppID: app, Parameters: r.Parameters, IsAsync: async && r.IsAsync, Ext: r.Ext}, nil
}

type runBody struct {
	WorkflowID string            `json:"workflow_id"`
	BotID      string            `json:"bot_id,omitempty"`
	AppID      string            `json:"app_id,omitempty"`
	Parameters map[string]any    `json:"parameters,omitempty"`
	IsAsync    bool              `json:"is_async,omitempty"`
	Ext        map[string]string `json:"ext,omitempty"`
}

// RunWorkflow runs a workflow without streaming: POST /v1/workflow/run (singular path).
// data, execute_id, debug_url, usage and interrupt_data are top-level (§2).
func (c *Client) RunWorkflow(ctx context.Context, ts TokenSource, r RunWorkflowRequest) (WorkflowRun, error) {
	body, err := r.body(true)
	if err != nil {
		return WorkflowRun{}, err
	}
	req := apiRequest{method: http.MethodPost, path: "/v1/workflow/run", src: ts, perm: "run", body: body}
	res, err := c.call(ctx, req)
	if err != nil {
		return WorkflowRun{}, err
	}
	var w struct {
		Data          json.RawMessage `json:"data"`
		ExecuteID     flexString      `json:"execute_id"`
		DebugURL      string          `json:"debug_url"`
		Usage         *Usage          `json:"usage"`
		InterruptData json.RawMessage `json:"interrupt_data"`
	}
	if err := decodeBody(req, res, &w); err != nil {
		return WorkflowRun{}, err
	}
	out := WorkflowRun{ExecuteID: string(w.ExecuteID), DebugURL: w.DebugURL, Usage: w.Usage}
	if hasData(w.Data) {
		// data is a JSON string; tolerate an object by keeping its JSON text.
		if json.Unmarshal(w.Data, &out.Data) != nil {
			out.Data = string(w.Data)
		}
	}
	if hasData(w.InterruptData) {
		out.InterruptData = w.InterruptData
	}
	return out, nil
}

// StreamWorkflow runs a workflow with SSE (id/event/data lines): POST /v1/workflow/stream_run.
func (c *Client) StreamWorkflow(ctx context.Context, ts TokenSource, r RunWorkflowRequest) (*Stream, error) {
	body, err := r.body(false)
	if err != nil {
		return nil, err
	}
	return c.openStreamIdle(ctx, apiRequest{method: http.MethodPost, path: "/v1/workflow/stream_run", src: ts, perm: "run", body: body}, c.workflowIdle)
}

// ResumeWorkflow resumes an interrupted run with SSE: POST /v1/workflow/stream_resume.
func (c *Client) ResumeWorkflow(ctx context.Context, ts TokenSource, r ResumeWorkflowRequest) (*Stream, error) {
	return c.openStreamIdle(ctx, apiRequest{method: http.MethodPost, path: "/v1/workflow/stream_resume", src: ts, perm: "run", body: r}, c.workflowIdle)
}
