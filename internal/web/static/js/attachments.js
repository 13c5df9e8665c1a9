// attachments: files for the next message. They come from the picker, a paste into the
// composer or a drop on the chat pane, all through addFiles (one set of checks: count,
// size, type, said inline), and are uploaded at once (POST /api/files, multipart field
// "file") with their progress in percent; they go with the next message as file_ids.
// Images show a thumbnail (a canvas: preview.js), other files a chip with name and size.
// File names are user-supplied text: textContent only.

import { h, icon } from './dom.js';
import { getLang, t } from './i18n.js';
import { networkError, uploadForm } from './api.js';
import { limits, fileLimitText, fileProblem, formatBytes, uploadErrorText, tooManyFilesText } from './limits.js';
import { imagePreview, isImageFile } from './preview.js';

const THUMB = 40; // px: the chip's thumbnail, drawn at twice that for sharp screens

/** hasFiles reports whether a drag carries files (not text or a link). */
const hasFiles = (e) => Boolean(e.dataTransfer) && Array.from(e.dataTransfer.types || []).includes('Files');

/** Attachments manages the chips above the composer. */
export class Attachments {
  /**
   * onChange runs after every change; canAttach says whether files may be added now
   * (a bot is open and its composer shown); composer takes pastes; dropTarget drops.
   */
  constructor({ onChange, canAttach, composer, dropTarget }) {
    this.items = [];
    this.onChange = onChange || (() => {});
    this.canAttach = canAttach || (() => true);
    this.box = document.getElementById('attachments');
    this.input = document.getElementById('file-input');
    this.note = '';
    this.noteEl = h('p', { class: 'file-note', hidden: true, attrs: { role: 'status' } });
    this.box.after(this.noteEl);
    document.getElementById('attach').addEventListener('click', () => this.input.click());
    this.input.addEventListener('change', () => {
      this.addFiles(Array.from(this.input.files || []));
      this.input.value = '';
    });
    if (composer) composer.addEventListener('paste', (e) => this.onPaste(e));
    if (dropTarget) this.acceptDrops(dropTarget);
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

  /**
   * addFiles is the one way in for picked, pasted and dropped files: files past the
   * per-message limit are named, not dropped silently (issue 10 item 3).
   */
  addFiles(files) {
    if (!files.length) return;
    const room = Math.max(0, limits.filesPerMessage - this.items.length);
    this.note = files.length > room ? tooManyFilesText(files.slice(room).map((f) => f.name)) : '';
    for (const f of files.slice(0, room)) this.add(f);
    this.render();
  }

  /** restore puts files that were already uploaded (ids, names) back as ready chips. */
  restore({ ids = [], names = [] } = {}) {
    for (const [n, id] of ids.entries()) {
      if (this.items.length >= limits.filesPerMessage) break;
      const item = { name: names[n] || id, size: -1, id, status: 'ready', error: '', ctl: null, pct: 100 };
      this.build(item, null);
      this.items.push(item);
    }
    this.render();
  }

  add(file) {
    if (this.items.length >= limits.filesPerMessage) return;
    // Too large, or a type Coze refuses: say so at once, without uploading.
    const problem = fileProblem(file);
    const item = { name: file.name, size: file.size, id: '', status: problem ? 'error' : 'uploading', error: problem, ctl: problem ? null : new AbortController(), pct: 0 };
    this.build(item, file);
    this.items.push(item);
    if (!problem) this.upload(item, file);
  }

  async upload(item, file) {
    const form = new FormData();
    form.append('file', file, file.name);
    try {
      const body = await uploadForm('/api/files', form, { signal: item.ctl.signal, onProgress: (sent, total) => this.progress(item, sent / total) });
      item.id = String(body.id || '');
      item.name = String(body.file_name || item.name);
      item.status = item.id ? 'ready' : 'error';
      if (!item.id) item.error = networkError().message;
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      item.status = 'error';
      item.error = err && err.message ? uploadErrorText(err) : networkError().message;
    }
    item.ctl = null;
    this.paint(item);
    this.onChange();
  }

  /** progress moves item's bar to fraction f (0..1) of the bytes sent. */
  progress(item, f) {
    const pct = Math.max(0, Math.min(100, Math.round(f * 100)));
    if (pct === item.pct || item.status !== 'uploading') return;
    item.pct = pct;
    this.paint(item);
  }

  /** remove drops item; a running upload is aborted. */
  remove(item) {
    if (item.ctl) item.ctl.abort();
    this.items = this.items.filter((i) => i !== item);
    this.note = '';
    this.render();
  }

  /** build makes item's chip once (thumbnail, name, size, bar, remove); paint updates it. */
  build(item, file) {
    item.lead = h('span', { class: 'file-lead' });
    item.nameEl = h('span', { class: 'file-name', text: item.name });
    item.meta = h('span', { class: 'file-meta' });
    item.bar = h('span', { class: 'file-progress', attrs: { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' } },
      h('span', { class: 'file-progress-fill' }));
    item.errEl = h('span', { class: 'file-error' });
    item.el = h('span', { class: 'file-chip', title: item.name, attrs: { role: 'listitem' } },
      item.lead, h('span', { class: 'file-text' }, item.nameEl, item.meta), item.errEl, item.bar,
      h('button', {
        type: 'button', class: 'icon-btn icon-btn-xs file-remove', title: t('file.remove'),
        attrs: { 'aria-label': t('file.remove') + ' ' + item.name },
        on: { click: () => this.remove(item) },
      }, icon('close')));
    if (file && isImageFile(file) && !item.error) {
      imagePreview(file, THUMB * 2, 'file-thumb').then((c) => {
        if (!c) return;
        item.thumb = c;
        item.el.classList.add('has-thumb');
        this.paint(item);
      });
    }
    this.paint(item);
  }

  paint(item) {
    const uploading = item.status === 'uploading';
    item.el.className = 'file-chip is-' + item.status + (item.thumb ? ' has-thumb' : '');
    item.nameEl.textContent = item.name;
    item.el.title = item.name;
    const lead = item.thumb && item.status !== 'error' ? 'thumb' : item.status === 'error' ? 'error' : 'attach';
    if (item.leadKind !== lead) item.lead.replaceChildren(lead === 'thumb' ? item.thumb : icon(lead));
    item.leadKind = lead;
    const pct = (item.pct / 100).toLocaleString(getLang(), { style: 'percent' });
    item.meta.textContent = uploading ? pct : item.size >= 0 ? formatBytes(item.size) : '';
    item.meta.hidden = !item.meta.textContent || item.status === 'error';
    item.bar.hidden = !uploading;
    item.bar.setAttribute('aria-valuenow', String(item.pct));
    item.bar.setAttribute('aria-label', t('file.uploading', { name: item.name }));
    item.bar.firstChild.style.width = item.pct + '%';
    item.errEl.textContent = item.error || '';
    item.errEl.hidden = !item.error;
  }

  render() {
    this.box.replaceChildren(...this.items.map((i) => i.el));
    this.noteEl.textContent = this.note;
    this.noteEl.hidden = !this.note;
    this.box.hidden = this.items.length === 0;
    this.onChange();
  }

  /**
   * onPaste attaches the files of a paste into the composer (a screenshot, files copied
   * in a file manager). A paste that carries files is taken as those files: the text a
   * file manager adds beside them (their names) is not typed into the message.
   */
  onPaste(e) {
    const files = Array.from((e.clipboardData && e.clipboardData.files) || []);
    if (!files.length || !this.canAttach()) return;
    e.preventDefault();
    this.addFiles(files);
  }

  /**
   * acceptDrops makes target (the chat pane) take dropped files, with a drop zone shown
   * while files are dragged over it. A file dropped anywhere else on the page is ignored
   * rather than opened by the browser in place of the app.
   */
  acceptDrops(target) {
    const zone = h('div', { class: 'drop-zone', hidden: true, attrs: { 'data-testid': 'drop-zone', 'aria-hidden': 'true' } },
      h('div', { class: 'drop-zone-inner' }, icon('attach'), h('span', { class: 'drop-zone-text' }), h('span', { class: 'drop-zone-limits' })));
    target.append(zone);
    let depth = 0; // dragenter/dragleave pairs of the target's children
    const show = (on) => {
      if (on) {
        zone.querySelector('.drop-zone-text').textContent = t('file.drop');
        zone.querySelector('.drop-zone-limits').textContent = fileLimitText();
      }
      zone.hidden = !on;
    };
    target.addEventListener('dragenter', (e) => {
      if (!hasFiles(e) || !this.canAttach()) return;
      e.preventDefault();
      depth++;
      show(true);
    });
    target.addEventListener('dragover', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = this.canAttach() ? 'copy' : 'none';
    });
    target.addEventListener('dragleave', (e) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (!depth) show(false);
    });
    target.addEventListener('drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      show(false);
      if (this.canAttach()) this.addFiles(Array.from(e.dataTransfer.files || []));
    });
    for (const type of ['dragover', 'drop']) {
      document.addEventListener(type, (e) => { if (hasFiles(e) && !e.defaultPrevented) e.preventDefault(); });
    }
  }
}
