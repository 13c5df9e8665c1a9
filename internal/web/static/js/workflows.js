// workflows: the workflow run panel in the main pane (the list is in
// workflowlist.js): a form generated from the workflow's inputs, Run / Stop,
// the streamed output — POST /api/workflows/{id}/run answers with the server's
// own events (docs/stream-contract.md, "The workflow stream": run, output,
// question, end), never Coze's — one resume with Last-Event-ID after a dropped
// connection (GET /api/workflows/runs/{run_id}/stream), Stop (POST
// .../runs/{run_id}/cancel), an answer box and the question's options for
// question nodes (POST .../resume) and inline errors with Retry. Workflow output
// reaches the DOM only through renderMarkdown (sanitized fragment); everything
// else through textContent.

import { api, ApiError, baseHeaders, errorFromResponse, networkError } from './api.js';
import { SSEParser, detachRun, readEvents, resumeEvents, stopRun } from './sse.js';
import { renderMarkdown } from './markdown.js';
import { $, h, icon, avatar, drawerMedia } from './dom.js';
import { t, endWords } from './i18n.js';
import { buildField, readValues } from './wfform.js';
import { optionGroup } from './cards.js';
import { showSkeleton, endSkeleton } from './guidance.js';

// Status of the output → the chip's i18n key and icon.
const STATUS = {
  running: ['wf.status.running', 'spark'],
  interrupted: ['wf.status.waiting', 'chat'],
  done: ['wf.status.done', 'check'],
  canceled: ['wf.status.canceled', 'stop'],
  failed: ['wf.status.failed', 'error'],
};

/**
 * displayText turns a finished node's content into markdown: an end node's JSON
 * object with one string value shows as that text, other JSON as a code block.
 */
function displayText(text, finished) {
  const s = String(text || '');
  if (!finished || !/^\s*[{[]/.test(s)) return s;
  let v;
  try { v = JSON.parse(s); } catch { return s; }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const vals = Object.values(v);
    if (vals.length === 1 && typeof vals[0] === 'string') return vals[0];
  }
  return '```json\n' + JSON.stringify(v, null, 2) + '\n```';
}

/**
 * safeLinkURL returns url if it is https: or same-origin (the simulator's debug
 * page in demo mode), else "".
 */
function safeLinkURL(url) {
  if (typeof url !== 'string' || !url || /[\u0000-\u0020\u007f\\]/.test(url)) return '';
  try {
    const u = new URL(url, location.origin);
    return u.protocol === 'https:' || u.origin === location.origin ? u.href : '';
  } catch { return ''; }
}

/** Workflows owns the workflow run panel. */
export class Workflows {
  constructor({ onOpen, onUnauthenticated }) {
    this.onOpen = onOpen || (() => {});
    this.onUnauthenticated = onUnauthenticated || (() => {});
    this.active = null;
    this.fields = [];
    this.blocks = [];
    this.run = null;
    this.params = null;
    this.pending = 0;
    this.seq = 0;
    this.panel = $('#workflow-panel');
    this.form = $('#workflow-form');
    this.fieldsEl = $('#wf-fields');
    this.runBtn = $('#workflow-run');
    this.stopBtn = $('#workflow-stop');
    this.result = $('#wf-result');
    this.output = $('#workflow-output');
    this.statusEl = $('#wf-status');
    this.errorEl = $('#wf-error');
    this.answerForm = $('#wf-answer-form');
    this.answer = $('#workflow-answer');
    this.scroll = $('#wf-scroll');
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.start(); });
    this.stopBtn.addEventListener('click', () => this.stop());
    this.answerForm.addEventListener('submit', (e) => { e.preventDefault(); this.sendAnswer(); });
    this.answer.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); this.sendAnswer(); }
    });
    this.answer.addEventListener('input', () => {
      $('#workflow-answer-send').disabled = !this.answer.value.trim();
      this.answer.style.height = 'auto';
      this.answer.style.height = Math.min(this.answer.scrollHeight, 160) + 'px';
    });
  }

  /** isOpen reports whether the run panel is showing. */
  isOpen() { return !this.panel.hidden; }

  /** close hides the run panel (a bot or conversation was chosen) and stops any run. */
  close() {
    this.abort();
    this.active = null;
    this.onOpen('');
    this.panel.hidden = true;
    $('#chat').classList.remove('is-workflow');
  }

  /** open shows workflow w in the main pane and loads its inputs. */
  async open(w) {
    this.abort();
    const seq = ++this.seq;
    this.active = { ...w, id: String(w.id) };
    this.onOpen(this.active.id);
    $('#chat').classList.add('is-workflow');
    this.panel.hidden = false;
    this.panel.dataset.workflowId = this.active.id;
    this.setHeader(this.active);
    this.resetOutput();
    this.fields = [];
    const busy = showSkeleton(this.fieldsEl, t('wf.loadingInputs'), { rows: 2, list: false });
    this.form.dataset.state = 'loading';
    this.runBtn.disabled = true;
    this.updateButtons();
    let info;
    try {
      info = await api.workflow(this.active.id);
    } catch (err) {
      endSkeleton(this.fieldsEl, busy);
      if (seq !== this.seq) return;
      this.form.dataset.state = 'error';
      this.fieldsEl.replaceChildren(this.errorBox(err, () => this.open(w)));
      return;
    }
    endSkeleton(this.fieldsEl, busy);
    if (seq !== this.seq) return;
    this.active = { ...this.active, ...info, id: this.active.id };
    this.setHeader(this.active);
    const inputs = Array.isArray(info.inputs) ? info.inputs.filter((i) => i && typeof i.name === 'string' && i.name) : [];
    this.fields = inputs.map((input, n) => buildField(input, n, t));
    this.fieldsEl.replaceChildren(...(this.fields.length
      ? this.fields.map((f) => f.el)
      : [h('p', { class: 'wf-noinputs', text: t('wf.noInputs'), attrs: { 'data-i18n': 'wf.noInputs' } })]));
    this.form.dataset.state = 'ready';
    this.runBtn.disabled = false;
    this.updateButtons();
    if (!drawerMedia.matches) {
      const first = this.fields.length ? this.fields[0].input : this.runBtn;
      first.focus({ preventScroll: true });
    }
  }

  setHeader(w) {
    $('#wf-avatar').replaceChildren(avatar(w.icon_url, w.name, 'md'));
    $('#wf-name').textContent = String(w.name || '');
    const desc = $('#wf-desc');
    desc.textContent = String(w.description || '');
    desc.hidden = !w.description;
  }

  errorBox(err, retry) {
    const box = h('div', { class: 'inline-error', attrs: { role: 'alert' } }, icon('error'),
      h('div', { class: 'note-text' },
        h('span', { class: 'note-msg', text: err.message || t('error.generic') }),
        err.hint ? h('span', { class: 'note-hint', text: err.hint }) : null));
    if (retry) {
      box.append(h('button', { type: 'button', class: 'btn btn-text retry wf-retry', on: { click: retry } },
        icon('refresh'), h('span', { text: t('chat.retry'), attrs: { 'data-i18n': 'chat.retry' } })));
    }
    return box;
  }

  updateButtons() {
    const busy = Boolean(this.run);
    this.runBtn.hidden = busy;
    this.stopBtn.hidden = !busy;
    for (const f of this.fields) f.input.disabled = busy;
  }

  resetOutput() {
    this.blocks = [];
    this.output.replaceChildren();
    this.output.removeAttribute('aria-busy');
    delete this.output.dataset.status;
    this.result.hidden = true;
    this.errorEl.hidden = true;
    this.errorEl.replaceChildren();
    this.answerForm.hidden = true;
    this.interrupt = null;
    this.optionsEl = null;
    $('#wf-debug').hidden = true;
  }

  setStatus(status) {
    this.output.dataset.status = status;
    const [key, ic] = STATUS[status] || STATUS.failed;
    this.statusEl.className = 'wf-status is-' + status;
    this.statusEl.replaceChildren(status === 'running' ? h('span', { class: 'mini-spinner', attrs: { 'aria-hidden': 'true' } }) : icon(ic),
      h('span', { text: t(key), attrs: { 'data-i18n': key } }));
  }

  /** start validates the form and runs the workflow from the beginning. */
  start() {
    if (!this.active || this.run || this.form.dataset.state !== 'ready') return;
    const { parameters, firstInvalid } = readValues(this.fields, t);
    if (firstInvalid) { firstInvalid.focus(); return; }
    this.params = parameters;
    this.runFresh();
  }

  runFresh() {
    if (!this.active || this.run || !this.params) return;
    this.resetOutput();
    this.result.hidden = false;
    this.stream('/api/workflows/' + encodeURIComponent(this.active.id) + '/run', { parameters: this.params });
  }

  sendAnswer() { this.answerWith(this.answer.value.trim()); }

  /** answerWith sends text (typed, or a chosen option) as the answer to the pending question. */
  answerWith(text) {
    if (!text || !this.interrupt || this.run || !this.active) return;
    const intr = this.interrupt;
    this.interrupt = null;
    this.answer.value = '';
    this.answer.style.height = '';
    this.answerForm.hidden = true;
    if (this.optionsEl) { for (const b of this.optionsEl.querySelectorAll('button')) b.disabled = true; }
    this.blocks.push({ key: '', answer: true, text, el: h('div', { class: 'wf-block wf-answer-block' },
      h('span', { class: 'wf-answer-label', text: t('chat.you'), attrs: { 'data-i18n': 'chat.you' } }),
      h('span', { class: 'wf-answer-text', text })) });
    this.output.append(this.blocks[this.blocks.length - 1].el);
    this.stream('/api/workflows/' + encodeURIComponent(this.active.id) + '/resume',
      { event_id: intr.event_id, interrupt_type: intr.interrupt_type, resume_data: text });
  }

  /** abort drops the current stream without a status (the panel is being replaced). */
  abort() { detachRun(this); }

  /** stop asks the server to stop the run (it closes Coze's stream), then stops reading. */
  stop() {
    return stopRun(this, (run) => (run.runId ? fetch('/api/workflows/runs/' + encodeURIComponent(run.runId) + '/cancel', {
      method: 'POST',
      credentials: 'same-origin',
      headers: baseHeaders({ 'Content-Type': 'application/json', Accept: 'application/json' }),
      body: '{}',
    }) : null));
  }

  async stream(url, body) {
    const run = { controller: new AbortController(), stopped: false, detached: false, runId: '', end: null, question: null, parser: new SSEParser() };
    this.run = run;
    this.updateButtons();
    this.setStatus('running');
    this.output.setAttribute('aria-busy', 'true');
    this.errorEl.hidden = true;
    this.showTyping(true);
    let res;
    try {
      res = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: baseHeaders({ 'Content-Type': 'application/json', Accept: 'text/event-stream, application/json' }),
        body: JSON.stringify(body),
        signal: run.controller.signal,
      });
    } catch {
      this.settle(run, run.stopped || run.detached ? null : networkError());
      return;
    }
    if (!res.ok) {
      const err = await errorFromResponse(res);
      if (res.status === 401) this.onUnauthenticated(err);
      this.settle(run, err);
      return;
    }
    if (!(res.headers.get('Content-Type') || '').includes('text/event-stream')) {
      this.settle(run, await errorFromResponse(res));
      return;
    }
    let broken = false;
    try {
      await readEvents(res.body, run.parser, (ev) => this.onEvent(run, ev));
    } catch {
      broken = true;
    }
    if (!run.stopped && !run.detached && !run.end && run.runId) {
      // The connection dropped before the end: the run goes on on the server;
      // follow it once more from the last event received.
      broken = !(await this.resume(run));
    }
    this.settle(run, broken && !run.stopped && !run.detached ? new ApiError(0, 'stream_cut', t('wf.connectionLost')) : null);
  }

  /** resume reads the rest of run's events after the last one received; false if it could not. */
  async resume(run) {
    const url = '/api/workflows/runs/' + encodeURIComponent(run.runId) + '/stream';
    return (await resumeEvents(url, run.parser, run.controller.signal, (ev) => this.onEvent(run, ev))) && Boolean(run.end);
  }

  /** onEvent applies one of the server's workflow events to the run. */
  onEvent(run, ev) {
    if (run.detached) return;
    let d = null;
    try { d = JSON.parse(ev.data); } catch { d = null; }
    const obj = d && typeof d === 'object' ? d : {};
    const str = (v) => (typeof v === 'string' ? v : '');
    switch (ev.event) {
      case 'run':
        run.runId = str(obj.run_id);
        break;
      case 'output':
        if (typeof obj.text === 'string') this.append(Number(obj.node) || 0, obj.text, obj.finished === true);
        break;
      case 'question':
        run.question = {
          event_id: str(obj.event_id),
          interrupt_type: Number(obj.interrupt_type) || 0,
          text: str(obj.text),
          options: Array.isArray(obj.options) ? obj.options.filter((o) => typeof o === 'string' && o) : [],
        };
        break;
      case 'end':
        run.end = { status: str(obj.status), code: str(obj.code), message: endWords(obj), debugURL: safeLinkURL(obj.debug_url) };
        break;
      default: // unknown events are ignored (the server may add kinds)
    }
  }

  /** append adds a piece of output to its node's block (a new block per node number). */
  append(node, text, finished) {
    let b = this.blocks[this.blocks.length - 1];
    if (!b || b.answer || b.key !== node) {
      b = { key: node, text: '', finished: false, el: h('div', { class: 'wf-block markdown' }) };
      this.blocks.push(b);
      this.output.append(b.el);
    }
    b.text += text;
    b.finished = finished;
    b.dirty = true;
    this.scheduleRender();
  }

  scheduleRender() {
    if (this.pending) return;
    const go = () => { this.pending = 0; this.renderBlocks(false); };
    this.pendingTimer = document.hidden;
    this.pending = this.pendingTimer ? setTimeout(go, 250) : requestAnimationFrame(go);
  }

  /** renderBlocks re-renders changed blocks (sanitized) and hides repeats of earlier output. */
  renderBlocks(final) {
    const seen = new Set();
    for (const b of this.blocks) {
      if (b.answer) continue;
      const text = displayText(b.text, b.finished || final).trim();
      const repeat = text !== '' && seen.has(text);
      seen.add(text);
      b.dirty = false;
      if (repeat || !text) {
        // An end node often repeats what a streaming node already showed.
        b.el.hidden = true;
        b.el.replaceChildren();
        b.shown = '';
        continue;
      }
      b.el.hidden = false;
      if (b.shown !== text || final) {
        b.shown = text;
        this.showTyping(false);
        b.el.replaceChildren(renderMarkdown(text, final));
      }
    }
    if (this.stick()) this.scroll.scrollTop = this.scroll.scrollHeight;
  }

  stick() {
    const s = this.scroll;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
  }

  showTyping(on) {
    const cur = this.output.querySelector(':scope > .typing');
    if (on && !cur) {
      this.output.append(h('span', { class: 'typing', attrs: { role: 'status', 'aria-label': t('wf.status.running') } },
        h('span', { class: 'dot' }), h('span', { class: 'dot' }), h('span', { class: 'dot' })));
    } else if (!on && cur) {
      cur.remove();
    }
  }

  /** settle ends a stream from its end event; err is a transport or pre-stream error. */
  settle(run, err) {
    if (run.detached) return;
    if (this.pending) {
      if (this.pendingTimer) clearTimeout(this.pending); else cancelAnimationFrame(this.pending);
      this.pending = 0;
    }
    this.run = null;
    this.showTyping(false);
    this.output.removeAttribute('aria-busy');
    this.renderBlocks(true);
    this.updateButtons();
    const e = run.end;
    if (run.stopped || (e && e.status === 'canceled')) {
      this.setStatus('canceled');
    } else if (!e) {
      this.setStatus('failed');
      this.showError(err || new ApiError(0, 'stream_cut', t('wf.connectionLost')));
    } else if (e.status === 'completed' && run.question && run.question.event_id) {
      this.interrupt = run.question;
      this.showQuestion(run.question);
    } else if (e.status === 'completed') {
      this.setStatus('done');
      const dbg = $('#wf-debug');
      if (e.debugURL) dbg.href = e.debugURL; else dbg.removeAttribute('href');
      dbg.hidden = !e.debugURL;
    } else {
      this.setStatus('failed');
      const fallback = e.status === 'failed' ? t('wf.status.failed') : t('wf.connectionLost');
      this.showError(new ApiError(0, e.code || 'workflow_error', e.message || fallback));
    }
  }

  showError(err) {
    this.errorEl.replaceChildren(...this.errorBox(err, () => this.runFresh()).childNodes);
    this.errorEl.hidden = false;
  }

  showQuestion(q) {
    // The question is usually the node's own output just before; show its text
    // only when that output does not already say it.
    const shown = this.blocks.filter((b) => !b.answer && !b.el.hidden);
    const last = shown[shown.length - 1];
    const lastText = last ? displayText(last.text, true).trim() : '';
    if (q.text && q.text.trim() !== lastText) {
      const b = { key: 'question', text: q.text, finished: true, dirty: true, el: h('div', { class: 'wf-block markdown' }) };
      this.blocks.push(b);
      this.output.append(b.el);
      this.renderBlocks(true);
    }
    const qb = [...this.blocks].reverse().find((b) => !b.answer && !b.el.hidden);
    if (qb) qb.el.classList.add('wf-question');
    this.optionsEl = null;
    if (q.options.length) {
      const { el, buttons } = optionGroup(q.options, (choice) => this.answerWith(choice));
      for (const b of buttons) b.disabled = false;
      this.optionsEl = el;
      this.output.append(el);
    }
    this.setStatus('interrupted');
    this.answerForm.hidden = false;
    $('#workflow-answer-send').disabled = true;
    this.answer.focus({ preventScroll: true });
    this.scroll.scrollTop = this.scroll.scrollHeight;
  }
}
