package cozesim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A workflow that belongs to a Coze app (a "project") runs only with that
// app's app_id, never together with bot_id (coze-protocol E11; docs
// workflow_stream_run). List and info items carry app_id, "0" when none.
const (
	WorkflowInApp = "7395000000000000006" // belongs to DemoAppID; input name (optional)
	// WorkflowSlow's first event comes SlowWorkflowDelay after the headers, with a
	// PING every 2 s meanwhile, as a workflow whose first node thinks does (E13).
	WorkflowSlow = "7395000000000000007"
	DemoAppID    = "7396000000000000001"
)

// SlowWorkflowDelay is how long WorkflowSlow holds its first event (simulator clock).
const SlowWorkflowDelay = 8 * time.Second

// workflowApp maps the workflows that belong to an app to its id.
var workflowApp = map[string]string{WorkflowInApp: DemoAppID}

func (s *Sim) seedAppWorkflowLocked() {
	wf := &workflow{ID: WorkflowInApp, Name: "app_greeting", Description: "属于一个 Coze 应用的工作流：运行时需要 app_id。 / A workflow inside a Coze app: it runs only with its app_id.",
		IconName: "workflow.svg", Mode: "workflow", Published: true, SpaceID: WorkspaceTeam, CreatorID: UserAlan, CreatorName: "Alan",
		Inputs:    []wfParam{{Name: "name", Type: "string", Description: "名字 / Name", Default: "Coze"}},
		CreatedAt: demoCreateUnixTime, UpdatedAt: demoCreateUnixTime + 3600}
	s.workflows[wf.ID] = wf
	s.wfOrder = append(s.wfOrder, wf.ID)
}

type wfRun struct {
	ID, WorkflowID, UserID, BotID, Status, Output, EventID string
	RunMode, Resumes                                       int
	CreateTime, UpdateTime                                 int64
	DueAt                                                  time.Time
	Ended                                                  bool
}

func (s *Sim) debugURL(wf *workflow, execID string) string {
	return s.o.PublicBase + s.o.PathPrefix + "/work_flow?execute_id=" + execID + "&space_id=" + wf.SpaceID + "&workflow_id=" + wf.ID
}

func (wf *workflow) detail(stringTimes bool) map[string]any {
	o := map[string]any{"workflow_id": wf.ID, "workflow_name": wf.Name, "description": wf.Description,
		"app_id": appIDOf(wf.ID), "creator": map[string]any{"id": wf.CreatorID, "name": wf.CreatorName}}
	if stringTimes { // the list example sends strings (§17.4, Q10)
		o["created_at"], o["updated_at"] = strconv.FormatInt(wf.CreatedAt, 10), strconv.FormatInt(wf.UpdatedAt, 10)
	} else {
		o["created_at"], o["updated_at"] = wf.CreatedAt, wf.UpdatedAt
	}
	return o
}

// appIDOf is a workflow's app_id on the wire: "0" when it belongs to no app.
func appIDOf(workflowID string) string {
	if app := workflowApp[workflowID]; app != "" {
		return app
	}
	return "0"
}

// GET /v1/workflows (§17.4)
func (s *Sim) handleWorkflowList(w http.ResponseWriter, r *http.Request, t *accessToken) {
	q := r.URL.Query()
	page, size := intParam(q.Get("page_num"), 0), intParam(q.Get("page_size"), 10)
	status := q.Get("publish_status")
	if status == "" {
		status = "published_online"
	}
	if q.Get("workspace_id") == "" || page < 1 || size < 1 || size > 30 {
		fail(w, r, errf(4000, "Request parameter error: workspace_id and page_num are required; page_size 1-30"))
		return
	}
	if !s.lockSpace(w, r, t, "workspace_id", q.Get("workspace_id")) {
		return
	}
	defer s.mu.Unlock()
	list, total := pageOf(s.wfOrder, s.workflows, page, size, func(wf *workflow) bool {
		return wf.SpaceID == q.Get("workspace_id") && (q.Get("workflow_mode") == "" || q.Get("workflow_mode") == wf.Mode) &&
			(status == "all" || (status == "published_online") == wf.Published)
	})
	items := []map[string]any{}
	for _, wf := range list {
		o := wf.detail(true)
		o["icon_url"] = s.assetURL(wf.IconName)
		items = append(items, o)
	}
	ok(w, r, map[string]any{"has_more": (page-1)*size+len(list) < total, "items": items})
}

// GET /v1/workflows/{workflow_id}[?include_input_output=true] (§17.5)
func (s *Sim) handleWorkflowInfo(w http.ResponseWriter, r *http.Request, t *accessToken) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wf := s.workflows[r.PathValue("workflow_id")]
	if wf == nil || !s.canSeeSpaceLocked(t, wf.SpaceID) {
		fail(w, r, errf(4200, "Workflow not found: "+r.PathValue("workflow_id")))
		return
	}
	d := wf.detail(false)
	d["icon_url"] = s.assetURL(wf.IconName)
	data := map[string]any{"workflow_detail": d}
	if r.URL.Query().Get("include_input_output") == "true" {
		params := map[string]any{}
		for _, p := range wf.Inputs {
			params[p.Name] = map[string]any{"type": p.Type, "required": p.Required, "description": p.Description, "default_value": p.Default}
		}
		data["input"] = map[string]any{"parameters": params}
		data["output"] = map[string]any{"parameters": map[string]any{"output": map[string]any{"type": "string"}},
			"terminate_plan": "return_variables", "content": ""}
	}
	ok(w, r, data)
}

type runBody struct {
	WorkflowID string          `json:"workflow_id"`
	Parameters json.RawMessage `json:"parameters"`
	BotID      string          `json:"bot_id"`
	AppID      string          `json:"app_id"`
	IsAsync    bool            `json:"is_async"`
}

// prepareRun validates a run request and records the execution.
func (s *Sim) prepareRun(t *accessToken, b runBody, mode int) (*workflow, *wfRun, map[string]any, *apiError) {
	if b.WorkflowID == "" {
		return nil, nil, nil, errf(4000, "Request parameter error: workflow_id is required")
	}
	if b.BotID != "" && b.AppID != "" {
		return nil, nil, nil, errf(4000, "Request parameter error: bot_id and app_id cannot both be set")
	}
	params := map[string]any{}
	if len(b.Parameters) > 0 && string(b.Parameters) != "null" {
		raw := b.Parameters
		var str string
		if json.Unmarshal(raw, &str) == nil { // Q14: a JSON-encoded string is accepted too
			raw = []byte(str)
		}
		if str != "" || raw[0] == '{' {
			if err := json.Unmarshal(raw, &params); err != nil {
				return nil, nil, nil, errf(4000, "Request parameter error: parameters must be a JSON object")
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wf := s.workflows[b.WorkflowID]
	if wf == nil || !wf.Published || !s.canSeeSpaceLocked(t, wf.SpaceID) {
		return nil, nil, nil, errf(4200, "Workflow not found or not published: "+b.WorkflowID)
	}
	// The code for a missing or wrong app_id is undocumented; not found is our reading.
	if app := workflowApp[wf.ID]; app != "" && b.AppID != app {
		return nil, nil, nil, errf(4200, "Workflow not found: "+b.WorkflowID+" belongs to a Coze app; run it with that app's app_id")
	}
	now := s.now()
	run := &wfRun{ID: s.newIDLocked(), WorkflowID: wf.ID, UserID: t.UserID, BotID: b.BotID, Status: "Running", RunMode: mode,
		CreateTime: now.Unix(), UpdateTime: now.Unix(), DueAt: now.Add(s.o.ChatDelay)}
	s.runs[run.ID] = run
	return wf, run, params, nil
}

func missingParam(wf *workflow, params map[string]any) string {
	for _, p := range wf.Inputs {
		if v, found := params[p.Name]; p.Required && (!found || v == nil || v == "") {
			return p.Name
		}
	}
	return ""
}

func paramString(wf *workflow, params map[string]any, name string) string {
	if v, found := params[name]; found && v != nil && v != "" {
		return fmt.Sprint(v)
	}
	for _, p := range wf.Inputs {
		if p.Name == name {
			return p.Default
		}
	}
	return ""
}

// weatherText is the deterministic weather of a city.
func weatherText(city, date string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(city))
	n := h.Sum32()
	kinds := []string{"晴 Sunny", "多云 Cloudy", "小雨 Light rain", "阴 Overcast"}
	return fmt.Sprintf("%s %s：%s，%d°C。 / Weather in %s on %s: %s, %d°C.", city, date, kinds[n%4], 10+n%20, city, date, kinds[n%4], 10+n%20)
}

const jokeText = "为什么小明要带一把尺子去看电影？\n因为他听说电影很长，怕坐不下！"

// output computes a workflow's result text.
func (wf *workflow) output(params map[string]any) string {
	switch wf.ID {
	case WorkflowWeather:
		return weatherText(paramString(wf, params, "city"), paramString(wf, params, "date"))
	case WorkflowJoke:
		return jokeText + " (topic: " + paramString(wf, params, "topic") + ")"
	case WorkflowSlow:
		return "想好了：慢工出细活。 / Done thinking: good things take time."
	case WorkflowInApp:
		name := paramString(wf, params, "name")
		return "你好，" + name + "！这条回答来自一个 Coze 应用里的工作流。 / Hello, " + name + "! This answer comes from a workflow inside a Coze app."
	}
	return "ok"
}

// POST /v1/workflow/run (§17.1): flat response, data is a JSON string.
func (s *Sim) handleWorkflowRun(w http.ResponseWriter, r *http.Request, t *accessToken) {
	var b runBody
	if !decodeOrFail(w, r, &b) {
		return
	}
	mode := 0
	if b.IsAsync {
		mode = 2
	}
	wf, run, params, e := s.prepareRun(t, b, mode)
	if e != nil {
		fail(w, r, e)
		return
	}
	if p := missingParam(wf, params); p != "" {
		s.endRun(run, "Fail", "")
		fail(w, r, errf(4000, "Request parameter error: missing required parameter "+p))
		return
	}
	u := map[string]any{"input_count": 50, "token_count": 150, "output_count": 100}
	dbg := s.debugURL(wf, run.ID)
	if wf.ID == WorkflowAsk {
		s.mu.Lock()
		run.EventID = run.ID + "/" + s.newIDLocked()
		s.mu.Unlock()
		okFields(w, r, map[string]any{"data": "", "debug_url": dbg, "usage": u, "execute_id": run.ID,
			"interrupt_data": map[string]any{"data": "", "event_id": run.EventID, "type": 2, "required_parameters": map[string]any{}}})
		return
	}
	out := string(compactJSON(map[string]any{"output": wf.output(params)}))
	if b.IsAsync {
		s.mu.Lock()
		run.Output = out // becomes visible when due (run history)
		s.mu.Unlock()
		okFields(w, r, map[string]any{"execute_id": run.ID, "debug_url": dbg})
		return
	}
	s.endRun(run, "Success", out)
	okFields(w, r, map[string]any{"data": out, "debug_url": dbg, "usage": u})
}

func (s *Sim) endRun(run *wfRun, status, out string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	run.Status, run.Output, run.Ended, run.UpdateTime = status, out, true, s.now().Unix()
}

// wfMessage renders a workflow Message event.
func wfMessage(content, title string, seq int, finished bool) []byte {
	return compactJSON(ordered{{"content", content}, {"node_is_finish", finished}, {"node_seq_id", strconv.Itoa(seq)}, {"node_title", title}})
}

// streamOutput streams text as Message chunks, the end node's message and Done.
func (s *Sim) streamOutput(sw *sseWriter, wf *workflow, run *wfRun, text string) {
	frags := fragments(text, 0, false)
	for i, f := range frags {
		if i > 0 && sw.pause(s.o.DeltaDelay) != nil {
			return
		}
		if sw.event("Message", wfMessage(f, "Message", i, i == len(frags)-1)) != nil {
			return
		}
	}
	out := string(compactJSON(map[string]any{"output": text}))
	final := compactJSON(map[string]any{"content": out, "cost": "0.00", "node_is_finish": true, "node_seq_id": "0", "node_title": "", "token": 0})
	if sw.event("Message", final) != nil {
		return
	}
	s.endRun(run, "Success", out)
	_ = sw.event("Done", compactJSON(map[string]any{"debug_url": s.debugURL(wf, run.ID)}))
}

// POST /v1/workflow/stream_run (§17.2)
func (s *Sim) handleWorkflowStream(w http.ResponseWriter, r *http.Request, t *accessToken) {
	var b runBody
	if !decodeOrFail(w, r, &b) {
		return
	}
	wf, run, params, e := s.prepareRun(t, b, 1)
	if e != nil {
		fail(w, r, e)
		return
	}
	sw := s.newSSE(w, r, true)
	if wf.ID == WorkflowSlow && sw.f == nil {
		sw.f = &Fault{FirstEventDelay: SlowWorkflowDelay, PingEvery: 2 * time.Second}
	}
	if p := missingParam(wf, params); p != "" {
		s.endRun(run, "Fail", "")
		_ = sw.event("Error", compactJSON(map[string]any{"error_code": 4000, "error_message": "Request parameter error: missing required parameter " + p}))
		return
	}
	if wf.ID == WorkflowAsk {
		s.mu.Lock()
		run.EventID = run.ID + "/" + s.newIDLocked()
		s.mu.Unlock()
		q := compactJSON(map[string]any{"content": "请问你想查看哪个城市、哪一天的天气呢？ / Which city and which day?", "content_type": "text",
			"node_is_finish": true, "node_seq_id": "0", "node_title": "问答"})
		if sw.event("Message", q) != nil {
			return
		}
		_ = sw.event("Interrupt", compactJSON(map[string]any{"interrupt_data": map[string]any{"data": "", "event_id": run.EventID, "type": 2}, "node_title": "问答"}))
		return
	}
	s.streamOutput(sw, wf, run, wf.output(params))
}

// POST /v1/workflow/stream_resume (§17.3): ids restart at 0.
func (s *Sim) handleWorkflowResume(w http.ResponseWriter, r *http.Request, t *accessToken) {
	var b struct {
		WorkflowID    string `json:"workflow_id"`
		EventID       string `json:"event_id"`
		InterruptType int    `json:"interrupt_type"`
		ResumeData    string `json:"resume_data"`
	}
	if !decodeOrFail(w, r, &b) {
		return
	}
	if b.WorkflowID == "" || b.EventID == "" || b.InterruptType == 0 || b.ResumeData == "" {
		fail(w, r, errf(4000, "Request parameter error: workflow_id, event_id, interrupt_type and resume_data are required"))
		return
	}
	s.mu.Lock()
	var run *wfRun
	for _, x := range s.runs {
		if x.EventID == b.EventID && x.WorkflowID == b.WorkflowID && x.UserID == t.UserID {
			run = x
		}
	}
	var e *apiError
	switch {
	case run == nil:
		e = errf(4314, "Workflow execution record not found")
	case run.Ended:
		e = errf(4315, "Workflow execution already finished")
	}
	var wf *workflow
	if e == nil {
		run.Resumes++
		wf = s.workflows[run.WorkflowID]
	}
	s.mu.Unlock()
	if e != nil {
		fail(w, r, e)
		return
	}
	sw := s.newSSE(w, r, true)
	if run.Resumes > 3 {
		s.endRun(run, "Fail", "")
		_ = sw.event("Error", compactJSON(map[string]any{"error_code": 4315, "error_message": "too many resumes"}))
		return
	}
	city, date, _ := strings.Cut(strings.NewReplacer("，", ",", "、", ",").Replace(b.ResumeData), ",")
	if date == "" {
		date = "today"
	}
	s.streamOutput(sw, wf, run, weatherText(strings.TrimSpace(city), strings.TrimSpace(date)))
}
