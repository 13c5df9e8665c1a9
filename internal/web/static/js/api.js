// api: the browser JSON API client (routes in internal/web/routes.go). Every call is
// same-origin fetch with credentials; errors become ApiError with the server's code,
// said from the catalog by key (or code) and params, falling back to the server's
// message and hint (sent in the UI language: we send Accept-Language).

import { getLang, has, t } from './i18n.js';

/** ApiError is a failed API call: HTTP status plus the server's {code, message, hint}. */
export class ApiError extends Error {
  constructor(status, code, message, hint) {
    super(message || code || 'error');
    this.status = status;
    this.code = code || 'error';
    this.hint = hint || '';
  }
}

let onUnauthenticated = () => {};

/** setUnauthenticatedHandler sets fn(err) to run when any call answers 401. */
export function setUnauthenticatedHandler(fn) { onUnauthenticated = fn; }

/** headers returns the common request headers (language for server-side messages). */
export function baseHeaders(extra) {
  return { 'Accept-Language': getLang() === 'zh-CN' ? 'zh-CN,zh;q=0.9' : 'en', ...extra };
}

/**
 * apiErrorOf turns a JSON error object ({code, key?, params?, message, hint?}) into an
 * ApiError, said from the catalog entry error.<key or code> when the page has it.
 */
export function apiErrorOf(status, e) {
  const str = (v) => (typeof v === 'string' ? v : '');
  const code = str(e.code) || `http_${status}`;
  const id = 'error.' + (str(e.key) || code);
  const params = e.params && typeof e.params === 'object' ? e.params : {};
  const msg = has(id) ? t(id, params) : str(e.message) || `${t('error.generic')} (HTTP ${status})`;
  const hint = has(id + '.hint') ? t(id + '.hint', params) : str(e.hint);
  return new ApiError(status, code, msg, hint);
}

/** errorFromResponse reads a JSON error body ({"error":{…}}) into an ApiError. */
export async function errorFromResponse(res) {
  let body = null;
  try { body = await res.json(); } catch { body = null; }
  return errorOfBody(res.status, body);
}

/** errorOfBody is the ApiError of a parsed answer body, whatever shape it came in. */
function errorOfBody(status, body) {
  const e = body && typeof body === 'object' && body.error && typeof body.error === 'object' ? body.error : {};
  return apiErrorOf(status, e);
}

/** networkError wraps a fetch TypeError as an ApiError. */
export function networkError() { return new ApiError(0, 'network', t('error.network')); }

/**
 * request performs a JSON API call and returns the decoded body. opts: {body, signal}.
 * Non-2xx answers throw ApiError; 401 also calls the unauthenticated handler.
 */
export async function request(method, path, opts = {}) {
  const init = { method, credentials: 'same-origin', headers: baseHeaders({ Accept: 'application/json' }), signal: opts.signal };
  if (opts.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw networkError();
  }
  if (!res.ok) {
    const err = await errorFromResponse(res);
    if (res.status === 401) onUnauthenticated(err);
    throw err;
  }
  if (res.status === 204) return {};
  try { return await res.json(); } catch { return {}; }
}

/**
 * uploadForm POSTs form (multipart) to path with XMLHttpRequest, the one browser API
 * that reports upload progress: onProgress(sent, total) as bytes leave. Resolves the
 * JSON body; rejects with ApiError like request() (401 calls the handler), or with an
 * AbortError when signal aborts. Same-origin with cookies, like every call here: the
 * server's cross-origin check reads the browser's own Sec-Fetch-Site/Origin headers.
 */
export function uploadForm(path, form, { onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.withCredentials = true;
    for (const [k, v] of Object.entries(baseHeaders({ Accept: 'application/json' }))) xhr.setRequestHeader(k, v);
    if (onProgress) xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); });
    const aborted = () => reject(new DOMException('upload aborted', 'AbortError'));
    if (signal) {
      if (signal.aborted) { aborted(); return; }
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.addEventListener('abort', aborted);
    xhr.addEventListener('error', () => reject(networkError()));
    xhr.addEventListener('load', () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = null; }
      if (xhr.status >= 200 && xhr.status < 300) { resolve(body && typeof body === 'object' ? body : {}); return; }
      const err = errorOfBody(xhr.status, body);
      if (xhr.status === 401) onUnauthenticated(err);
      reject(err);
    });
    xhr.send(form);
  });
}

/** Thin wrappers, one per route the page uses. */
export const api = {
  status: () => request('GET', '/api/auth/status'),
  logout: () => request('POST', '/api/auth/logout', { body: {} }),
  workspaces: () => request('GET', '/api/workspaces'),
  bots: (workspaceID) => request('GET', '/api/bots?workspace_id=' + encodeURIComponent(workspaceID)),
  bot: (id) => request('GET', '/api/bots/' + encodeURIComponent(id)),
  conversations: (q, signal) => request('GET', '/api/conversations' + (q ? '?q=' + encodeURIComponent(q) : ''), { signal }),
  messages: (id) => request('GET', '/api/conversations/' + encodeURIComponent(id) + '/messages'),
  rename: (id, title) => request('PATCH', '/api/conversations/' + encodeURIComponent(id), { body: { title } }),
  remove: (id) => request('DELETE', '/api/conversations/' + encodeURIComponent(id)),
  restore: (id) => request('POST', '/api/conversations/' + encodeURIComponent(id) + '/restore'),
  pin: (id, pinned) => request('PUT', '/api/conversations/' + encodeURIComponent(id) + '/pin', { body: { pinned } }),
  cancel: (conversationID, chatID) => request('POST', '/api/chat/cancel', { body: { conversation_id: conversationID, chat_id: chatID } }),
  workflows: (workspaceID) => request('GET', '/api/workflows?workspace_id=' + encodeURIComponent(workspaceID)),
  workflow: (id) => request('GET', '/api/workflows/' + encodeURIComponent(id)),
  exportURL: (id, format) => '/api/conversations/' + encodeURIComponent(id) + '/export?format=' + format,
};
