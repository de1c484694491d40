// The Nextier console: sign-in, the hash router (#/dashboard, #/queue, #/leads, #/lead/ID,
// #/gold, #/data-hub) and the keyboard shortcuts. Each page module exports
// render(main, arg) and may return a function that tears it down (sockets, timers).
import { ApiError, detectRole, session, setUnauthorizedHandler } from './api.js';
import { clearError, h, showError } from './util.js';
import * as dashboard from './dashboard.js';
import * as queue from './queue.js';
import * as leads from './leads.js';
import * as gold from './gold.js';
import * as dataHub from './datahub.js';

const pages = {
  dashboard: { module: dashboard, roles: ['ops', 'agent'], title: 'Dashboard' },
  queue: { module: queue, roles: ['ops', 'agent'], title: 'Call queue' },
  leads: { module: leads, roles: ['ops', 'agent', 'auditor'], title: 'Leads' },
  lead: { module: leads, roles: ['ops', 'agent', 'auditor'], title: 'Lead', nav: 'leads' },
  gold: { module: gold, roles: ['ops', 'agent'], title: 'Gold labels' },
  'data-hub': { module: dataHub, roles: ['ops'], title: 'Data hub' },
};

const main = document.getElementById('main');
const topbar = document.querySelector('.topbar');
let teardown = null;

function homePage() {
  if (session.can('ops', 'agent')) return session.role === 'agent' ? 'queue' : 'dashboard';
  return 'leads';
}

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  return { page: parts[0] || '', arg: parts.slice(1).map(decodeURIComponent).join('/') };
}

async function route() {
  if (teardown) {
    try { teardown(); } catch { /* a page's cleanup must not stop navigation */ }
    teardown = null;
  }
  clearError();
  if (!session.key) return renderSignIn();
  const { page, arg } = parseHash();
  const p = pages[page];
  if (!p) {
    location.replace(`#/${homePage()}`);
    return;
  }
  topbar.hidden = false;
  document.title = `${p.title} · Nextier`;
  for (const a of topbar.querySelectorAll('.nav a')) {
    a.classList.toggle('active', a.dataset.page === (p.nav || page));
    if (a.dataset.page === (p.nav || page)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  main.dataset.page = page;
  if (!session.can(...p.roles)) {
    main.append(h('div', { class: 'card notice', testid: 'forbidden' },
      h('h1', {}, p.title),
      h('p', {}, `A key with the role “${session.role}” cannot open this page; it needs ${p.roles.join(' or ')}.`)));
    return;
  }
  try {
    const t = await p.module.render(main, arg, page);
    teardown = typeof t === 'function' ? t : null;
  } catch (err) {
    showError(`Could not show ${p.title.toLowerCase()}`, err);
  }
}

// ---- sign-in -----------------------------------------------------------------------------

function renderSignIn(message) {
  topbar.hidden = true;
  document.title = 'Sign in · Nextier';
  main.dataset.page = 'signin';
  const input = h('input', {
    id: 'signin-key', type: 'password', testid: 'signin-key', autocomplete: 'current-password',
    required: true, spellcheck: 'false', placeholder: 'API key',
  });
  const error = h('p', { class: 'form-error', testid: 'signin-error', role: 'alert' }, message || '');
  error.hidden = !message;
  const submit = h('button', { class: 'btn btn-primary btn-wide', type: 'submit', testid: 'signin-submit' }, 'Sign in');
  const form = h('form', { class: 'signin card', testid: 'signin-form' },
    h('div', { class: 'signin-brand' }, h('img', { src: '/ui/favicon.svg', alt: '', width: 36, height: 36 }),
      h('div', {}, h('h1', {}, 'Nextier'), h('p', { class: 'muted' }, 'Lead engine console'))),
    h('label', { for: 'signin-key' }, 'API key'),
    input,
    h('p', { class: 'hint' }, 'Kept for this browser tab only; closing it signs you out.'),
    error,
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    submit.disabled = true;
    submit.textContent = 'Checking…';
    error.hidden = true;
    try {
      const role = await detectRole(key);
      session.signIn(key, role);
      applyRole();
      if (!location.hash || location.hash === '#/' || location.hash === '#/signin') {
        location.hash = `#/${homePage()}`;
      }
      route();
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401
        ? 'That key was not accepted. Check it and try again.'
        : `Could not sign in: ${err instanceof ApiError ? err.describe() : err.message}`;
      error.hidden = false;
      submit.disabled = false;
      submit.textContent = 'Sign in';
      input.select();
    }
  });
  main.replaceChildren(h('div', { class: 'signin-wrap' }, form));
  input.focus();
}

function applyRole() {
  const role = session.role;
  topbar.querySelector('[data-testid="role-badge"]').textContent = role || 'unknown';
  topbar.querySelector('[data-testid="role-badge"]').dataset.role = role;
  for (const a of topbar.querySelectorAll('.nav a')) {
    const roles = a.dataset.roles.split(' ');
    a.hidden = !(roles.includes(role));
  }
}

function signOut(message) {
  if (teardown) { try { teardown(); } catch { /* ignore */ } teardown = null; }
  session.signOut();
  clearError();
  renderSignIn(message);
}

setUnauthorizedHandler(() => signOut('The server no longer accepts your key (401). Sign in again.'));

// ---- keyboard ----------------------------------------------------------------------------

function typing(target) {
  return target instanceof HTMLElement &&
      (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || !session.key) return;
  if (document.querySelector('dialog[open]') || typing(ev.target)) return;
  const go = { d: 'dashboard', q: 'queue', l: 'leads', g: 'gold', h: 'data-hub' }[ev.key];
  if (go) {
    ev.preventDefault();
    location.hash = `#/${go}`;
  } else if (ev.key === '/') {
    ev.preventDefault();
    document.getElementById('lead-jump-input').focus();
  } else if (ev.key === '?') {
    ev.preventDefault();
    document.querySelector('[data-testid="help-dialog"]').showModal();
  }
});

document.querySelector('[data-testid="lead-jump"]').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = document.getElementById('lead-jump-input');
  const id = input.value.trim();
  if (!id) return;
  input.value = '';
  input.blur();
  location.hash = `#/lead/${encodeURIComponent(id)}`;
});

document.querySelector('[data-testid="signout"]').addEventListener('click', () => signOut());
document.querySelector('.banner-close').addEventListener('click', clearError);

window.addEventListener('hashchange', route);
if (session.key) applyRole();
route();
