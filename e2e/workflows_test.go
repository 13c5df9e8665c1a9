package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// JavaScript snippets for the workflow steps.
const (
	// jsWorkflowDone is the output's final status once a stream has settled, else "".
	jsWorkflowDone = `(() => { const o = document.querySelector('#workflow-output'); const s = o.dataset.status || ''; return s && s !== 'running' && document.querySelector('#workflow-stop').hidden ? s : ''; })()`
	jsWorkflowText = `document.querySelector('#workflow-output').textContent`
	// jsSettled is true once no finite animation or transition is running (theme
	// switches fade colours; a screenshot mid-fade shows the wrong theme).
	jsSettled = `document.getAnimations().every(a => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity)`
)

// openWorkflow shows the Workflows tab of the team workspace and opens workflow id,
// waiting until its form is ready.
func openWorkflow(b *browser, id string) {
	b.t.Helper()
	if eval[bool](b, `getComputedStyle(document.querySelector('#menu-btn')).display !== 'none'`) {
		openDrawer(b)
	}
	b.click("#tab-workflows")
	b.setInput("#workspace-select", cozesim.WorkspaceTeam)
	b.click(fmt.Sprintf(`.workflow-item[data-workflow-id="%s"]`, id))
	waitFor[bool](b, "workflow form ready", fmt.Sprintf(`document.querySelector('#workflow-panel').dataset.workflowId === %q && document.querySelector('#workflow-form').dataset.state === 'ready' && !document.querySelector('#workflow-run').disabled`, id), 10*time.Second)
}

// testWorkflowWeather opens Workflows, filters the list, runs weather_report with
// a city and checks the streamed output names the city and the run finishes.
func testWorkflowWeather(t *testing.T, b *browser) {
	openWorkflow(b, cozesim.WorkflowWeather)
	if n := eval[int](b, `document.querySelectorAll('.workflow-item').length`); n < 3 {
		t.Errorf("workflow list has %d items, want >= 3", n)
	}
	b.setInput("#workflow-filter", "weather_rep")
	waitFor[bool](b, "filtered list", fmt.Sprintf(`document.querySelectorAll('.workflow-item').length === 1 && !!document.querySelector('.workflow-item[data-workflow-id="%s"].is-active')`, cozesim.WorkflowWeather), 5*time.Second)
	b.setInput("#workflow-filter", "")

	got := eval[string](b, `[...document.querySelectorAll('#wf-fields .wf-input')].map(el => el.name + ':' + el.type + ':' + (el.getAttribute('aria-required') || '') + ':' + el.placeholder).join(' ')`)
	if want := "city:text:true: date:text::today"; got != want {
		t.Errorf("generated inputs = %q, want %q", got, want)
	}
	// Required field left empty: an inline error, nothing runs.
	b.click("#workflow-run")
	waitFor[bool](b, "required error", `(() => { const f = document.querySelector('.wf-input[name="city"]'); return f.getAttribute('aria-invalid') === 'true' && !document.querySelector('#' + f.id + '-error').hidden && document.activeElement === f; })()`, 5*time.Second)
	if !eval[bool](b, `document.querySelector('#wf-result').hidden`) {
		t.Errorf("a run started with a required input empty")
	}

	const city = "Hangzhou e2e"
	b.setInput(`.wf-input[name="city"]`, city)
	b.do("focus city", chromedp.Focus(chromedp.CSS(`.wf-input[name="city"]`)))
	b.do("Enter runs", chromedp.KeyEvent("\r"))
	if st := waitFor[string](b, "weather run", jsWorkflowDone, 30*time.Second); st != "done" {
		t.Fatalf("weather run status = %q, want done; output %q", st, eval[string](b, jsWorkflowText))
	}
	out := eval[string](b, jsWorkflowText)
	if !strings.Contains(out, city) || !strings.Contains(out, "°C") {
		t.Errorf("weather output = %q, want the city %q and a temperature", out, city)
	}
	if n := strings.Count(out, "Weather in"); n != 1 {
		t.Errorf("output shows the result %d times, want once: %q", n, out)
	}
	if dbg := eval[string](b, `(() => { const a = document.querySelector('#wf-debug'); return a.hidden ? '' : a.href + ' ' + a.target + ' ' + a.rel; })()`); !strings.Contains(dbg, "execute_id=") || !strings.HasSuffix(dbg, " _blank noopener noreferrer") {
		t.Errorf("run details link = %q, want the Done event's debug_url opening safely", dbg)
	}
	if !eval[bool](b, `!document.querySelector('#workflow-run').hidden && document.querySelector('#workflow-stop').hidden`) {
		t.Errorf("Run/Stop buttons not back to Run after the run")
	}
}

// testWorkflowAsk runs ask_weather: the question node interrupts, the page asks,
// the answer resumes the run, which finishes with the answered city.
func testWorkflowAsk(t *testing.T, b *browser, dir string) {
	openWorkflow(b, cozesim.WorkflowAsk)
	if got := eval[int](b, `document.querySelectorAll('#wf-fields .wf-input').length`); got != 0 {
		t.Errorf("ask_weather shows %d inputs, want none", got)
	}
	b.click("#workflow-run")
	if st := waitFor[string](b, "question", jsWorkflowDone, 20*time.Second); st != "interrupted" {
		t.Fatalf("ask_weather status = %q, want interrupted", st)
	}
	if q := eval[string](b, `(document.querySelector('#workflow-output .wf-question') || {}).textContent || ''`); !strings.Contains(q, "Which city") {
		t.Errorf("question shown = %q, want the question node's text", q)
	}
	waitFor[bool](b, "answer box focused", `!document.querySelector('#wf-answer-form').hidden && document.activeElement === document.querySelector('#workflow-answer')`, 5*time.Second)
	waitFor[bool](b, "animations settled", jsSettled, 5*time.Second)
	b.screenshot(dir, "workflow-question.png")
	b.setInput("#workflow-answer", "Shanghai, 2026-12-01")
	b.click("#workflow-answer-send")
	if st := waitFor[string](b, "resumed run", jsWorkflowDone, 30*time.Second); st != "done" {
		t.Fatalf("resumed status = %q, want done; output %q", st, eval[string](b, jsWorkflowText))
	}
	out := eval[string](b, jsWorkflowText)
	for _, want := range []string{"Which city", "Shanghai, 2026-12-01", "Weather in Shanghai on 2026-12-01"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	if !eval[bool](b, `document.querySelector('#wf-answer-form').hidden`) {
		t.Errorf("answer box still shown after the run finished")
	}
	testWorkflowQuestionOptions(t, b)
}

// testWorkflowQuestionOptions: a choice question (Coze Studio sends its options,
// docs/stream-contract.md) shows its text once and its options as buttons; a
// click answers with that option through resume. The simulator's question has no
// options, so the page's two requests are answered with our events here.
func testWorkflowQuestionOptions(t *testing.T, b *browser) {
	openWorkflow(b, cozesim.WorkflowAsk)
	eval[chromedp.Void](b, `(() => { const real = window.fetch; window.__resumeBody = '';
const sse = (events) => new Response(events.map(([id, name, data]) => 'id: ' + id + '\nevent: ' + name + '\ndata: ' + JSON.stringify(data) + '\n\n').join(''),
  { headers: { 'Content-Type': 'text/event-stream' } });
window.fetch = (u, o) => {
  window.fetch = (u2, o2) => {
    window.fetch = real;
    window.__resumeBody = String(u2) + ' ' + o2.body;
    return Promise.resolve(sse([[1, 'run', { run_id: 'b'.repeat(32), workflow_id: '1' }],
      [2, 'output', { node: 1, node_title: 'End', text: 'Weather in Beijing: sunny', finished: true }],
      [3, 'end', { status: 'completed', code: '', message: '', output: 'Weather in Beijing: sunny', debug_url: '' }]]));
  };
  return Promise.resolve(sse([[1, 'run', { run_id: 'a'.repeat(32), workflow_id: '1' }],
    [2, 'output', { node: 1, node_title: 'ask', text: 'Pick a city', finished: true }],
    [3, 'question', { event_id: '11/22', interrupt_type: 2, node_title: 'ask', text: 'Pick a city', options: ['Hangzhou', 'Beijing'] }],
    [4, 'end', { status: 'completed', code: '', message: '', output: '', debug_url: '' }]]));
}; })()`)
	b.click("#workflow-run")
	if st := waitFor[string](b, "choice question", jsWorkflowDone, 10*time.Second); st != "interrupted" {
		t.Fatalf("status = %q, want interrupted", st)
	}
	got := eval[string](b, `(() => { const o = document.querySelector('#workflow-output');
  return o.textContent.split('Pick a city').length - 1 + ' ' + [...o.querySelectorAll('button.option')].map((x) => x.textContent + (x.disabled ? ':off' : ':on')).join(','); })()`)
	if got != "1 Hangzhou:on,Beijing:on" {
		t.Errorf("question shown as %q, want its text once and both options enabled", got)
	}
	b.click(`#workflow-output button.option:nth-child(2)`)
	if st := waitFor[string](b, "answered by option", jsWorkflowDone, 10*time.Second); st != "done" {
		t.Fatalf("status after choosing = %q, want done", st)
	}
	want := `/api/workflows/` + cozesim.WorkflowAsk + `/resume {"event_id":"11/22","interrupt_type":2,"resume_data":"Beijing"}`
	if body := eval[string](b, `window.__resumeBody`); body != want {
		t.Errorf("resume request %q, want %q", body, want)
	}
	if !eval[bool](b, `[...document.querySelectorAll('#workflow-output button.option')].every((x) => x.disabled) && document.querySelector('#workflow-output').textContent.includes('Weather in Beijing')`) {
		t.Errorf("after choosing: want the options disabled and the rest of the run shown")
	}
}

// testWorkflowErrorRetry shows a server error inline with Retry. draft_workflow
// is never published, so the list cannot offer it; the page's run request is
// pointed at it once, and the real 404 from the server is what the page shows.
func testWorkflowErrorRetry(t *testing.T, b *browser) {
	openWorkflow(b, cozesim.WorkflowJoke)
	eval[chromedp.Void](b, fmt.Sprintf(`(() => { const real = window.fetch; window.fetch = (u, o) => { window.fetch = real; return real(String(u).replace(%q, %q), o); }; })()`, cozesim.WorkflowJoke, cozesim.WorkflowDraft))
	b.click("#workflow-run")
	if st := waitFor[string](b, "error", jsWorkflowDone, 20*time.Second); st != "failed" {
		t.Fatalf("draft run status = %q, want failed", st)
	}
	if msg := eval[string](b, `(() => { const e = document.querySelector('#wf-error'); return e.hidden ? '' : e.querySelector('.note-msg').textContent; })()`); msg == "" {
		t.Errorf("no inline error for an unpublished workflow")
	}
	b.click("#wf-error .retry")
	if st := waitFor[string](b, "retried run", jsWorkflowDone, 30*time.Second); st != "done" {
		t.Fatalf("retried status = %q, want done", st)
	}
	if out := eval[string](b, jsWorkflowText); !strings.Contains(out, "topic: movies") {
		t.Errorf("joke output = %q, want the default topic", out)
	}
	if !eval[bool](b, `document.querySelector('#wf-error').hidden`) {
		t.Errorf("error still shown after a successful retry")
	}
}

// testWorkflowStop presses Stop during a run. The demo workflows finish in a
// blink, so the page's run request is given the real run's first events and then
// held open, as a run still working looks: Stop must ask the server to cancel
// that run by its id, keep the partial output, and bring Run back.
func testWorkflowStop(t *testing.T, b *browser) {
	openWorkflow(b, cozesim.WorkflowJoke)
	eval[chromedp.Void](b, `(() => { const real = window.fetch; window.__cancel = '';
window.fetch = (u, o) => {
  window.fetch = (u2, o2) => {
    window.fetch = real;
    return real(u2, o2).then((r) => { window.__cancel = r.status + ' ' + String(u2); return r; });
  };
  return real(u, o).then((res) => {
    const reader = res.body.getReader();
    let ctl, held = false;
    o.signal.addEventListener('abort', () => { reader.cancel(); ctl.error(new DOMException('aborted', 'AbortError')); });
    const body = new ReadableStream({
      start(c) { ctl = c; },
      async pull(c) {
        if (held) return new Promise(() => {});
        const { value, done } = await reader.read();
        if (done) { c.close(); return; }
        c.enqueue(value);
        held = new TextDecoder().decode(value).includes('event: output');
      },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  });
}; })()`)
	b.click("#workflow-run")
	waitFor[bool](b, "partial output", `document.querySelector('#workflow-output').textContent.includes('为什么') && !document.querySelector('#workflow-stop').hidden`, 10*time.Second)
	b.click("#workflow-stop")
	if st := waitFor[string](b, "stopped", jsWorkflowDone, 10*time.Second); st != "canceled" {
		t.Fatalf("status after Stop = %q, want canceled", st)
	}
	if c := eval[string](b, `window.__cancel`); !regexp.MustCompile(`^200 \S*/api/workflows/runs/[0-9a-f]{32}/cancel$`).MatchString(c) {
		t.Errorf("Stop sent %q, want a 200 POST to the run's cancel route", c)
	}
	if !eval[bool](b, `document.querySelector('#workflow-output').textContent.includes('为什么') && !document.querySelector('#workflow-run').hidden && document.querySelector('#wf-error').hidden`) {
		t.Errorf("after Stop: want the partial output kept, Run back and no error")
	}
}

// testWorkflowResume drops the page's connection right after the run's first
// output: the page asks once for the rest with Last-Event-ID and shows the whole
// run, each piece once.
func testWorkflowResume(t *testing.T, b *browser) {
	openWorkflow(b, cozesim.WorkflowWeather)
	eval[chromedp.Void](b, jsCutFirstStream(`let drop = false;
    const body = new ReadableStream({
      async pull(c) {
        if (drop) { reader.cancel(); c.error(new TypeError('network error')); return; }
        const { value, done } = await reader.read();
        if (done) { c.close(); return; }
        c.enqueue(value);
        drop = new TextDecoder().decode(value).includes('event: output');
      },
    });`))
	const city = "Resume city"
	b.setInput(`.wf-input[name="city"]`, city)
	b.click("#workflow-run")
	if st := waitFor[string](b, "resumed run", jsWorkflowDone, 30*time.Second); st != "done" {
		t.Fatalf("run after a dropped connection: status %q, output %q", st, eval[string](b, jsWorkflowText))
	}
	resumes := eval[[]string](b, `window.__resumes`)
	if len(resumes) != 1 || !regexp.MustCompile(`/api/workflows/runs/[0-9a-f]{32}/stream [1-9][0-9]*$`).MatchString(resumes[0]) {
		t.Errorf("resume requests %q, want one GET of the run's stream with Last-Event-ID", resumes)
	}
	out := eval[string](b, jsWorkflowText)
	if n := strings.Count(out, "Weather in "+city); n != 1 {
		t.Errorf("output shows the result %d times, want once: %q", n, out)
	}
}

// testWorkflowForm checks the generated controls and their parsing with the
// page's own form module: number, integer, boolean, object and array inputs.
func testWorkflowForm(t *testing.T, b *browser) {
	got := eval[string](b, `Promise.all([import('/static/js/wfform.js'), import('/static/js/i18n.js')]).then(([{ buildField, readValues }, { t }]) => {
  const specs = [
    { name: 'n', type: 'number', default: '1.5' }, { name: 'i', type: 'integer', required: true },
    { name: 'flag', type: 'boolean', default: 'true' }, { name: 'obj', type: 'object' }, { name: 'arr', type: 'array' },
    { name: 's', type: 'string', description: '<img src=x onerror=window.__pwned=1>' },
  ];
  const fields = specs.map((s, k) => buildField(s, 100 + k, t));
  const box = document.createElement('div');
  box.append(...fields.map((f) => f.el));
  const out = [fields.map((f) => f.input.tagName + '/' + (f.input.type || '')).join(',')];
  const set = (vals) => { fields.forEach((f, k) => { if (f.input.type !== 'checkbox') f.input.value = vals[k]; }); const r = readValues(fields, t); return JSON.stringify(r.parameters) + ' ' + fields.filter((f) => !f.error.hidden).map((f) => f.spec.name).join('+'); };
  out.push(set(['2.5', '3', '', '{"a":1}', '[1,"x"]', 'hi']));
  out.push(set(['', '3.5', '', '{bad', '{"a":1}', '']));
  out.push(String(box.querySelectorAll('img').length));
  return out.join(' | ');
})`)
	want := `INPUT/number,INPUT/number,INPUT/checkbox,TEXTAREA/textarea,TEXTAREA/textarea,INPUT/text | {"n":2.5,"i":3,"flag":true,"obj":{"a":1},"arr":[1,"x"],"s":"hi"}  | {"flag":true} i+obj+arr | 0`
	if got != want {
		t.Errorf("form:\n got %q\nwant %q", got, want)
	}
}

// testWorkflowScreenshots saves the workflow panel (the weather run) on a desktop
// in light and dark, and on a phone.
func testWorkflowScreenshots(t *testing.T, b *browser, dir string) {
	run := func() {
		openWorkflow(b, cozesim.WorkflowWeather)
		b.setInput(`.wf-input[name="city"]`, "杭州 Hangzhou")
		b.click("#workflow-run")
		if st := waitFor[string](b, "weather run", jsWorkflowDone, 30*time.Second); st != "done" {
			t.Fatalf("weather run status = %q", st)
		}
		waitFor[bool](b, "animations settled", jsSettled, 5*time.Second)
	}
	run()
	b.screenshot(dir, "workflow-desktop-light.png")
	b.click("#theme-toggle")
	waitFor[string](b, "dark theme", `document.documentElement.dataset.theme === 'dark' ? 'dark' : ''`, 5*time.Second)
	waitFor[bool](b, "dark theme settled", jsSettled, 5*time.Second)
	b.screenshot(dir, "workflow-desktop-dark.png")
	b.click("#theme-toggle")
	waitFor[string](b, "light theme", `document.documentElement.dataset.theme === 'light' ? 'light' : ''`, 5*time.Second)

	b.viewport(360, 740)
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".topbar")))
	run()
	b.screenshot(dir, "workflow-phone-360x740.png")
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("workflow panel is %d px wide on a 360 px phone", w)
	}
	// Back to the desktop: the panel stays open (later steps check it is accessible).
	b.viewport(1280, 800)
	waitFor[bool](b, "desktop layout", `getComputedStyle(document.querySelector('#menu-btn')).display === 'none' && !document.querySelector('#workflow-panel').hidden`, 5*time.Second)
}
