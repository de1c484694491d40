// Small DOM and formatting helpers shared by the pages.

// Builds an element: h('a', {href: '#', class: 'x', testid: 'y', onclick: fn}, 'text', child…).
// Children may be strings, numbers, nodes, arrays of them, or null/false (left out).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'testid') el.dataset.testid = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replaces every child of `el`.
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// ---- numbers and times -------------------------------------------------------------------

const intFormat = new Intl.NumberFormat('en-US');
export const num = (n) => (n === null || n === undefined ? '—' : intFormat.format(n));
// A fraction as a percentage with one decimal: 0.1234 -> "12.3%".
export const pct = (f) => (typeof f === 'number' && isFinite(f) ? `${(f * 100).toFixed(1)}%` : '—');

const dateTime = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';

function parseTime(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return isNaN(d) ? null : d;
}
// "Nov 30, 11:00 AM" in the browser's zone, the exact UTC time as a tooltip (see timeEl).
export const when = (iso) => { const d = parseTime(iso); return d ? dateTime.format(d) : '—'; };
export const whenLong = (iso) => { const d = parseTime(iso); return d ? dateTimeSeconds.format(d) : '—'; };
export const clock = (iso) => { const d = parseTime(iso); return d ? timeOnly.format(d) : '—'; };
const dayOnly = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
export const day = (iso) => { const d = parseTime(iso); return d ? dayOnly.format(d) : '—'; };

// A <time> element: local text, the RFC 3339 original in datetime and title.
export function timeEl(iso, format = when) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: iso }, format(iso));
}

// The value of an <input type="datetime-local"> ("2026-11-30T11:00", the browser's zone) as an
// RFC 3339 UTC time ("2026-11-30T16:00:00Z"); null when empty or invalid.
export function localInputToUtc(value) {
  if (!value) return null;
  const d = new Date(value);  // a date-time without offset is local time
  if (isNaN(d)) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// The other way: an RFC 3339 time as a datetime-local value in the browser's zone.
export function utcToLocalInput(iso) {
  const d = parseTime(iso);
  if (!d) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// "snake_case" / "CamelCase" -> "Snake case" / "Camel case".
export function humanize(s) {
  if (!s) return '';
  const spaced = String(s).replace(/_/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  const words = spaced.replace(/\bsms\b/g, 'SMS');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// ---- feedback ----------------------------------------------------------------------------

// Shows an error in the banner at the top, in the API's own words, prefixed with what failed.
export function showError(what, err) {
  const banner = document.querySelector('[data-testid="error-banner"]');
  const text = err && typeof err.describe === 'function' ? err.describe() : String(err && err.message || err);
  banner.querySelector('.banner-text').textContent = what ? `${what}: ${text}` : text;
  banner.hidden = false;
}

export function clearError() {
  document.querySelector('[data-testid="error-banner"]').hidden = true;
}

let toastTimer = null;
// A short confirmation at the bottom of the screen.
export function toast(message) {
  const el = document.querySelector('[data-testid="toast"]');
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 3500);
}

// A button that disables itself while `action` runs, so a double click does not send twice.
export function busy(button, action) {
  return async (ev) => {
    if (ev) ev.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    button.classList.add('is-busy');
    try {
      await action();
    } finally {
      button.disabled = false;
      button.classList.remove('is-busy');
    }
  };
}

// A pill showing a lead's or an entry's state, coloured by it.
export function pill(value, testid) {
  return h('span', { class: `pill pill-${String(value || 'none').replace(/[^a-z_]/gi, '')}`, testid }, humanize(value || 'none'));
}

// The page title row: a heading and, on the right, whatever `extra` holds.
export function pageHeader(title, ...extra) {
  return h('div', { class: 'page-head' }, h('h1', {}, title), h('div', { class: 'page-tools' }, extra));
}

// An empty-state line for a table or list.
export function empty(text) {
  return h('p', { class: 'empty', testid: 'empty' }, text);
}
