// sse: a small incremental Server-Sent Events parser (WHATWG HTML §9.2 "Interpreting an
// event stream") for bodies read with fetch() + ReadableStream, plus a reader loop.
// EventSource cannot POST, so we parse ourselves.

import { baseHeaders } from './api.js';

/**
 * SSEParser turns decoded text chunks into {id, event, data, ownId} objects; ownId is true
 * when the event carried an id line itself (our relay-only ends have none).
 */
export class SSEParser {
  constructor() {
    this.buf = '';
    this.data = [];
    this.event = '';
    this.lastEventId = '';
    this.ownId = false;
    this.skipLF = false; // a chunk ended with "\r": a following "\n" belongs to it
  }

  /** push feeds a chunk of text and returns the events completed by it. */
  push(chunk) {
    const out = [];
    let text = chunk;
    if (this.skipLF && text.startsWith('\n')) text = text.slice(1);
    this.skipLF = false;
    this.buf += text;
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.buf.slice(start, i);
      if (c === 13) {
        if (i + 1 < this.buf.length) {
          if (this.buf.charCodeAt(i + 1) === 10) i++;
        } else {
          this.skipLF = true;
        }
      }
      start = i + 1;
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  line(line) {
    if (line === '') {
      // Blank line: dispatch (spec: nothing if the data buffer is empty).
      const hasData = this.data.length > 0;
      const ev = { id: this.lastEventId, event: this.event || 'message', data: this.data.join('\n'), ownId: this.ownId };
      this.data = [];
      this.event = '';
      this.ownId = false;
      return hasData ? ev : null;
    }
    if (line.startsWith(':')) return null; // comment / heartbeat
    const colon = line.indexOf(':');
    let field = line;
    let value = '';
    if (colon >= 0) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
    }
    switch (field) {
      case 'data': this.data.push(value); break;
      case 'event': this.event = value; break;
      case 'id': if (!value.includes('\0')) { this.lastEventId = value; this.ownId = true; } break;
      default: break; // retry and unknown fields are ignored
    }
    return null;
  }
}

/**
 * readEvents reads an SSE response body and calls onEvent(ev) for each event.
 * Resolves when the body ends; rejects on network errors or abort. The parser is
 * returned so the caller can read lastEventId for a resume.
 */
export async function readEvents(body, parser, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const ev of parser.push(decoder.decode(value, { stream: true }))) onEvent(ev);
    }
    const tail = decoder.decode();
    if (tail) for (const ev of parser.push(tail)) onEvent(ev);
  } finally {
    try { reader.releaseLock(); } catch { /* already released */ }
  }
  return parser;
}

/**
 * resumeEvents follows a run's stream again (GET url) after the last event the parser
 * saw (Last-Event-ID) and calls onEvent for each event. It resolves true when the stream
 * was read to its end, false when it could not be opened or broke. Chats and workflow
 * runs resume this way.
 */
export async function resumeEvents(url, parser, signal, onEvent) {
  parser.buf = '';
  parser.data = [];
  parser.event = '';
  parser.ownId = false;
  try {
    const headers = baseHeaders({ Accept: 'text/event-stream' });
    if (parser.lastEventId) headers['Last-Event-ID'] = parser.lastEventId;
    const res = await fetch(url, { credentials: 'same-origin', headers, signal });
    if (!res.ok || !(res.headers.get('Content-Type') || '').includes('text/event-stream')) return false;
    await readEvents(res.body, parser, onEvent);
    return true;
  } catch {
    return false;
  }
}

/** detachRun stops reading owner.run's stream without stopping the run (the server keeps it). */
export function detachRun(owner) {
  if (!owner.run) return;
  owner.run.detached = true;
  owner.run.controller.abort();
  owner.run = null;
  owner.updateButtons();
}

/**
 * stopRun is the Stop button of owner (a chat or workflow panel): cancel(run) asks the
 * server to stop the run (or returns null when there is nothing to ask yet), waited for
 * at most 3 s; then the stream is no longer read.
 */
export async function stopRun(owner, cancel) {
  const run = owner.run;
  if (!run || run.stopped) return;
  run.stopped = true;
  owner.stopBtn.disabled = true;
  const cancelling = cancel(run);
  if (cancelling) {
    const timeout = new Promise((resolve) => setTimeout(resolve, 3000));
    await Promise.race([cancelling.catch(() => {}), timeout]);
  }
  run.controller.abort();
  owner.stopBtn.disabled = false;
}
