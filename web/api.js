// The HTTP API as the UI uses it: the key kept for this browser session, JSON requests with
// `Authorization: Bearer KEY`, the API's errors ({"error": {"code", "message", "field"}}) as
// ApiError, the upload with progress, and the live dashboard socket.

const KEY_ITEM = 'nextier.apiKey';
const ROLE_ITEM = 'nextier.role';
const NAME_ITEM = 'nextier.agentName';

// An answer that was not 2xx (or no answer at all: status 0), with the API's own words.
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
  // One plain line for a person: the server's sentence, then what kind of failure it was.
  describe() {
    if (this.status === 0) return this.message;
    const field = this.field ? `, field ${this.field}` : '';
    return `${this.message} (${this.status} ${this.code}${field})`;
  }
}

// The browser-session state: sessionStorage ends with the tab, so a key never outlives it.
export const session = {
  get key() { return sessionStorage.getItem(KEY_ITEM) || ''; },
  get role() { return sessionStorage.getItem(ROLE_ITEM) || ''; },
  // The name the server gives this key (learned from the first assignment; the API has no
  // "who am I" endpoint), used to tell "my" calls.
  get agentName() { return sessionStorage.getItem(NAME_ITEM) || ''; },
  set agentName(name) { if (name) sessionStorage.setItem(NAME_ITEM, name); },
  signIn(key, role) {
    sessionStorage.setItem(KEY_ITEM, key);
    sessionStorage.setItem(ROLE_ITEM, role);
  },
  signOut() {
    sessionStorage.removeItem(KEY_ITEM);
    sessionStorage.removeItem(ROLE_ITEM);
    sessionStorage.removeItem(NAME_ITEM);
  },
  can(...roles) { return this.role === 'admin' || roles.includes(this.role); },
};

// Called with the ApiError of any 401, so that the app can ask for the key again.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

function errorFrom(status, text, statusText) {
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON: shown as text below */ }
  const e = body && body.error ? body.error : {};
  const message = e.message || (text && text.length < 300 ? text : '') || statusText ||
      'the server answered with an error';
  return new ApiError(status, e.code || `http_${status}`, message, e.field);
}

// One JSON request. `body` undefined sends none; `key` overrides the session's (sign-in).
export async function api(method, path, body, key = session.key) {
  const headers = { Authorization: `Bearer ${key}`, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, 'network', `The server did not answer ${method} ${path}: ${err.message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    const e = errorFrom(res.status, text, res.statusText);
    if (res.status === 401 && key === session.key) onUnauthorized(e);
    throw e;
  }
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'bad_json', `${method} ${path} answered something that is not JSON`);
  }
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const put = (path, body) => api('PUT', path, body === undefined ? {} : body);

// A query string from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// Tells the role of `key` by what answers and what is forbidden (the API has no endpoint that
// names it): data hub files are ops-only, the audit export auditor-only, the call queue is for
// agents and ops; admin may do everything. Throws ApiError 401 for a key the server refuses.
export async function detectRole(key) {
  const probe = async (path) => {
    try {
      await api('GET', path, undefined, key);
      return true;
    } catch (e) {
      if (e.status === 403) return false;
      throw e;
    }
  };
  const [files, audit, queue] = await Promise.all([
    probe('/api/data-hub/files?limit=1'),
    probe('/api/audit/export?limit=1'),
    probe('/api/call-queue?limit=1'),
  ]);
  if (files && audit) return 'admin';
  if (audit) return 'auditor';
  if (files) return 'ops';
  if (queue) return 'agent';
  return 'unknown';
}

// Uploads a CSV as the request body (Content-Type text/csv), reporting the bytes sent through
// `onProgress(sent, total)` and the moment the body is all sent through `onSent()` (the import
// still runs: the answer comes once it is durably stored). Resolves with the parsed answer.
export function uploadCsv(file, params, { onProgress, onSent } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/data-hub/upload${query(params)}`);
    xhr.setRequestHeader('Authorization', `Bearer ${session.key}`);
    xhr.setRequestHeader('Content-Type', 'text/csv');
    xhr.upload.onprogress = (ev) => {
      if (onProgress) onProgress(ev.loaded, ev.lengthComputable ? ev.total : file.size);
    };
    xhr.upload.onload = () => { if (onSent) onSent(); };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch {
          reject(new ApiError(xhr.status, 'bad_json', 'the upload answer is not JSON'));
        }
        return;
      }
      const e = errorFrom(xhr.status, xhr.responseText, xhr.statusText);
      if (xhr.status === 401) onUnauthorized(e);
      reject(e);
    };
    xhr.onerror = () => reject(new ApiError(0, 'network', 'The upload failed: the server did not answer'));
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'The upload was cancelled'));
    xhr.send(file);
  });
}

// The live dashboard: `onMessage(msg)` for each message, `onState('connecting'|'open'|'closed')`.
// Reconnects with a growing pause (1 s to 15 s) until close() is called.
export function openDashboardSocket(onMessage, onState) {
  let ws = null;
  let closed = false;
  let delay = 1000;
  let timer = null;
  const connect = () => {
    if (closed) return;
    onState('connecting');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${scheme}://${location.host}/ws/dashboard?key=${encodeURIComponent(session.key)}`);
    ws.onopen = () => { delay = 1000; onState('open'); };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      onMessage(msg);
    };
    ws.onclose = () => {
      if (closed) return;
      onState('closed');
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    };
  };
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (ws) ws.close();
    },
  };
}
