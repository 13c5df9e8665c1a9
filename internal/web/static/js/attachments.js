// attachments: files picked in the composer are uploaded at once (POST /api/files,
// multipart field "file") and sent with the next message as file_ids. File names are
// user-supplied text: textContent only.

import { h, icon } from './dom.js';
import { t } from './i18n.js';
import { baseHeaders, errorFromResponse, networkError } from './api.js';
import { limits, fileProblem, uploadErrorText, tooManyFilesText } from './limits.js';

/** Attachments manages the chips above the composer. */
export class Attachments {
  constructor({ onChange }) {
    this.items = [];
    this.onChange = onChange || (() => {});
    this.box = document.getElementById('attachments');
    this.input = document.getElementById('file-input');
    this.note = '';
    this.noteEl = h('p', { class: 'file-note', hidden: true, attrs: { role: 'status' } });
    this.box.after(this.noteEl);
    document.getElementById('attach').addEventListener('click', () => this.input.click());
    this.input.addEventListener('change', () => {
      const files = Array.from(this.input.files || []);
      const room = Math.max(0, limits.filesPerMessage - this.items.length);
      // Files past the per-message limit are named, not dropped silently (issue 10 item 3).
      this.note = files.length > room ? tooManyFilesText(files.slice(room).map((f) => f.name)) : '';
      for (const f of files.slice(0, room)) this.add(f);
      this.input.value = '';
      this.render();
    });
  }

  /** ids returns the ids of uploaded files. */
  ids() { return this.items.filter((i) => i.status === 'ready').map((i) => i.id); }

  /** names returns the names of uploaded files (for the sent bubble). */
  names() { return this.items.filter((i) => i.status === 'ready').map((i) => i.name); }

  /** busy is true while an upload is running. */
  busy() { return this.items.some((i) => i.status === 'uploading'); }

  clear() {
    for (const i of this.items) if (i.ctl) i.ctl.abort();
    this.items = [];
    this.note = '';
    this.render();
  }

  add(file) {
    if (this.items.length >= limits.filesPerMessage) return;
    // Too large, or a type Coze refuses: say so at once, without uploading.
    const problem = fileProblem(file);
    const item = { name: file.name, id: '', status: problem ? 'error' : 'uploading', error: problem, ctl: problem ? null : new AbortController() };
    this.items.push(item);
    this.render();
    if (!problem) this.upload(item, file);
  }

  async upload(item, file) {
    const form = new FormData();
    form.append('file', file, file.name);
    try {
      const res = await fetch('/api/files', { method: 'POST', body: form, credentials: 'same-origin', headers: baseHeaders({ Accept: 'application/json' }), signal: item.ctl.signal });
      if (!res.ok) throw await errorFromResponse(res);
      const body = await res.json();
      item.id = String(body.id || '');
      item.name = String(body.file_name || item.name);
      item.status = item.id ? 'ready' : 'error';
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      item.status = 'error';
      item.error = err && err.message ? uploadErrorText(err) : networkError().message;
    }
    item.ctl = null;
    this.render();
  }

  remove(item) {
    if (item.ctl) item.ctl.abort();
    this.items = this.items.filter((i) => i !== item);
    this.note = '';
    this.render();
  }

  render() {
    this.box.replaceChildren(...this.items.map((i) => h('span', {
      class: 'file-chip is-' + i.status, title: i.name, attrs: { role: 'listitem' },
    },
    i.status === 'uploading' ? h('span', { class: 'mini-spinner', attrs: { 'aria-hidden': 'true' } }) : icon(i.status === 'error' ? 'error' : 'attach'),
    h('span', { class: 'file-name', text: i.name }),
    i.error ? h('span', { class: 'file-error', text: i.error }) : null,
    h('button', {
      type: 'button', class: 'icon-btn icon-btn-xs', title: t('file.remove'),
      attrs: { 'aria-label': t('file.remove') + ' ' + i.name },
      on: { click: () => this.remove(i) },
    }, icon('close')))));
    this.noteEl.textContent = this.note;
    this.noteEl.hidden = !this.note;
    this.box.hidden = this.items.length === 0;
    this.onChange();
  }
}
