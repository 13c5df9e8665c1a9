// workflows: the workflow run panel in the main pane (the list is in
// workflowlist.js): a form generated from the workflow's inputs, Run / Stop,
// the streamed output (POST /api/workflows/{id}/run, SSE: Message, Interrupt,
// Error, Done), an answer box for question nodes (POST .../resume) and inline errors
// with Retry. Workflow output reaches the DOM only through renderMarkdown
// (sanitized fragment); everything else through textContent.

import { api, ApiError, baseHeaders, errorFromResponse, networkError } from './api.js';
import { SSEParser, readEvents } from './sse.js';
import { renderMarkdown } from './markdown.js';
import { h, icon, avatar } from './dom.js';
import { t } from './i18n.js';
import { buildField, readValues } from './wfform.js';

const $ = (sel) => document.querySelector(sel);

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
    this.fieldsEl.replaceChildren(h('p', { class: 'wf-loading', text: t('wf.loadingInputs'), attrs: { role: 'status', 'data-i18n': 'wf.loadingInputs' } }));
    this.form.dataset.state = 'loading';
    this.runBtn.disabled = true;
    this.updateButtons();
    let info;
    try {
      info = await api.workflow(this.active.id);
    } catch (err) {
      if (seq !== this.seq) return;
      this.form.dataset.state = 'error';
      this.fieldsEl.replaceChildren(this.errorBox(err, () => this.open(w)));
      return;
    }
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
    if (!window.matchMedia('(max-width: 840px)').matches) {
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

  sendAnswer() {
    const text = this.answer.value.trim();
    if (!text || !this.interrupt || this.run || !this.active) return;
    const intr = this.interrupt;
    this.interrupt = null;
    this.answer.value = '';
    this.answer.style.height = '';
    this.answerForm.hidden = true;
    this.blocks.push({ key: '', answer: true, text, el: h('div', { class: 'wf-block wf-answer-block' },
      h('span', { class: 'wf-answer-label', text: t('chat.you'), attrs: { 'data-i18n': 'chat.you' } }),
      h('span', { class: 'wf-answer-text', text })) });
    this.output.append(this.blocks[this.blocks.length - 1].el);
    this.stream('/api/workflows/' + encodeURIComponent(this.active.id) + '/resume',
      { event_id: intr.event_id, interrupt_type: intr.type, resume_data: text });
  }

  /** abort drops the current stream without a status (the panel is being replaced). */
  abort() {
    if (!this.run) return;
    this.run.detached = true;
    this.run.controller.abort();
    this.run = null;
    this.updateButtons();
  }

  stop() {
    if (!this.run) return;
    this.run.stopped = true;
    this.run.controller.abort();
  }

  async stream(url, body) {
    const run = { controller: new AbortController(), stopped: false, detached: false, done: false, error: null, interrupt: null, got: false };
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
    let broken = null;
    try {
      await readEvents(res.body, new SSEParser(), (ev) => this.onEvent(run, ev));
    } catch {
      broken = run.stopped || run.detached ? null : new ApiError(0, 'stream_cut', t('wf.connectionLost'));
    }
    this.settle(run, broken);
  }

  onEvent(run, ev) {
    if (run.detached) return;
    let d = null;
    try { d = JSON.parse(ev.data); } catch { d = null; }
    const obj = d && typeof d === 'object' ? d : {};
    switch (ev.event) {
      case 'Message':
        if (typeof obj.content === 'string') {
          this.append(obj);
          run.got = true;
        }
        break;
      case 'Interrupt': {
        const it = obj.interrupt_data && typeof obj.interrupt_data === 'object' ? obj.interrupt_data : {};
        run.interrupt = { event_id: String(it.event_id || ''), type: Number(it.type) || 0, data: typeof it.data === 'string' ? it.data : '' };
        break;
      }
      case 'Error':
        run.error = new ApiError(0, String(obj.error_code || 'workflow_error'), String(obj.error_message || '') || t('wf.status.failed'));
        break;
      case 'error':
        run.error = new ApiError(0, String(obj.code || 'stream_error'), obj.message || t('error.generic'), obj.hint || '');
        break;
      case 'Done':
        run.done = true;
        run.debugURL = safeLinkURL(obj.debug_url);
        break;
      default: // PING and unknown events
    }
  }

  /** append adds a Message's content to its node's block (a new block per node). */
  append(m) {
    const key = String(m.node_id || m.node_execute_uuid || m.node_title || '');
    let b = this.blocks[this.blocks.length - 1];
    if (!b || b.answer || b.finished || b.key !== key) {
      b = { key, text: '', finished: false, el: h('div', { class: 'wf-block markdown' }) };
      this.blocks.push(b);
      this.output.append(b.el);
    }
    b.text += m.content;
    b.finished = m.node_is_finish === true || m.node_is_finish === 'true';
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

  /** settle ends a stream from what its events said; err is a transport/pre-stream error. */
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
    const error = run.error || err;
    if (run.stopped) {
      this.setStatus('canceled');
    } else if (error) {
      this.setStatus('failed');
      this.showError(error);
    } else if (run.interrupt && run.interrupt.event_id) {
      this.interrupt = run.interrupt;
      this.showQuestion(run.interrupt);
    } else if (run.done) {
      this.setStatus('done');
      const dbg = $('#wf-debug');
      if (run.debugURL) dbg.href = run.debugURL; else dbg.removeAttribute('href');
      dbg.hidden = !run.debugURL;
    } else {
      this.setStatus('failed');
      this.showError(new ApiError(0, 'stream_cut', t('wf.connectionLost')));
    }
  }

  showError(err) {
    this.errorEl.replaceChildren(...this.errorBox(err, () => this.runFresh()).childNodes);
    this.errorEl.hidden = false;
  }

  showQuestion(intr) {
    // The question is the preceding Message; a bare interrupt may carry it as data.
    const last = this.blocks[this.blocks.length - 1];
    if ((!last || last.answer || !last.text.trim()) && intr.data && !/^\s*[{[]/.test(intr.data)) {
      const b = { key: '', text: intr.data, finished: true, dirty: true, el: h('div', { class: 'wf-block markdown' }) };
      this.blocks.push(b);
      this.output.append(b.el);
      this.renderBlocks(true);
    }
    const q = [...this.blocks].reverse().find((b) => !b.answer && !b.el.hidden);
    if (q) q.el.classList.add('wf-question');
    this.setStatus('interrupted');
    this.answerForm.hidden = false;
    $('#workflow-answer-send').disabled = true;
    this.answer.focus({ preventScroll: true });
    this.scroll.scrollTop = this.scroll.scrollHeight;
  }
}
