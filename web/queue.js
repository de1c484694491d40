// Call queue: the calls to make, highest priority first (then oldest), as GET /api/call-queue
// orders them; "assign to me", complete with a disposition, and book a meeting with a date and
// time picker (the browser's local time, sent as RFC 3339 UTC). Upcoming meetings beside it.
// Keyboard: j/k select, a assign, c complete (1–6 pick the outcome), b book, Enter open, r refresh.
import { get, post, put, query, session } from './api.js';
import {
  busy, empty, fill, h, humanize, localInputToUtc, localZone, pageHeader, pill, showError, timeEl,
  toast, utcToLocalInput, when, whenLong,
} from './util.js';
import { leadName } from './leads.js';

const DISPOSITIONS = [
  ['booked', 'Booked a meeting', 'the next step is picking its time'],
  ['no_answer', 'No answer', ''],
  ['voicemail', 'Left a voicemail', ''],
  ['callback', 'Call back later', 'the call returns to the queue at the time you pick'],
  ['not_interested', 'Not interested', 'the lead is closed'],
  ['wrong_number', 'Wrong number', 'the number is never texted again'],
];
// "Open" is every call not yet made (waiting or held by someone), in the queue's order.
const TABS = [
  ['open', 'Open'],
  ['mine', 'Mine'],
  ['completed', 'Completed'],
];
const REFRESH_MS = 15000;

// The server's business time (it may be simulated): the overview's asOf, else the browser's.
async function serverNow() {
  try {
    const o = await get('/api/dashboard/overview');
    if (o && o.asOf) return new Date(o.asOf);
  } catch { /* the browser's clock will do for a default */ }
  return new Date();
}

function dialogShell(testid, title, ...content) {
  const dlg = h('dialog', { class: 'dialog', testid, 'aria-label': title });
  const error = h('p', { class: 'form-error', testid: 'dialog-error', role: 'alert', hidden: true });
  dlg.append(h('h2', {}, title), ...content.flat(), error);
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  return { dlg, error };
}

function showDialogError(error, what, err) {
  error.textContent = `${what}: ${err.describe ? err.describe() : err.message}`;
  error.hidden = false;
}

// Books a meeting for `leadId`; resolves true once booked. `label` names the lead.
export async function openBookDialog(leadId, label, onBooked) {
  const now = await serverNow();
  const suggested = new Date(now.getTime() + 24 * 3600 * 1000);
  suggested.setHours(10, 0, 0, 0);
  const startsAt = h('input', {
    type: 'datetime-local', testid: 'book-starts-at', required: true,
    value: utcToLocalInput(suggested.toISOString()),
  });
  const duration = h('select', { testid: 'book-duration' },
    [15, 30, 45, 60].map((m) => h('option', { value: m }, `${m} minutes`)));
  const link = h('input', { type: 'url', testid: 'book-link', placeholder: 'https://… (optional: one is made for you)' });
  const agent = h('input', { type: 'text', testid: 'book-agent', placeholder: session.agentName || 'you', value: '' });
  const preview = h('p', { class: 'muted small', testid: 'book-utc-preview' });
  const updatePreview = () => {
    const utc = localInputToUtc(startsAt.value);
    preview.textContent = utc ? `${whenLong(utc)} in ${localZone} · stored as ${utc}` : 'Pick a date and time.';
  };
  startsAt.addEventListener('input', updatePreview);
  updatePreview();
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', testid: 'book-submit' }, 'Book meeting');
  const form = h('form', { class: 'form' },
    h('p', {}, 'Meeting with ', h('strong', {}, label)),
    h('label', {}, `Starts (${localZone})`, startsAt),
    preview,
    h('div', { class: 'form-row' }, h('label', {}, 'Length', duration), h('label', {}, 'Agent', agent)),
    h('label', {}, 'Meeting link', link),
    h('p', { class: 'muted small' }, 'The lead gets a confirmation text now and reminders 24 h, 1 h and 15 min before.'),
    h('div', { class: 'form-actions' },
      h('button', { class: 'btn', type: 'button', onclick: () => dlg.close() }, 'Cancel'), submit));
  const { dlg, error } = dialogShell('book-dialog', 'Book a meeting', form);
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(false));
    form.addEventListener('submit', busy(submit, async () => {
      error.hidden = true;
      const utc = localInputToUtc(startsAt.value);
      if (!utc) {
        showDialogError(error, 'Could not book', new Error('pick a date and time'));
        return;
      }
      const body = { leadId, startsAt: utc, durationMinutes: Number(duration.value) };
      if (link.value.trim()) body.link = link.value.trim();
      if (agent.value.trim()) body.agent = agent.value.trim();
      try {
        const res = await post('/api/meetings/book', body);
        toast(`Meeting booked for ${whenLong(res.meeting.startsAt)}`);
        if (onBooked) onBooked(res.meeting);
        resolve(true);
        dlg.close();
      } catch (err) {
        showDialogError(error, 'Could not book the meeting', err);
      }
    }));
    dlg.showModal();
    startsAt.focus();
  });
}

function openCompleteDialog(entry, label, onDone) {
  const radios = DISPOSITIONS.map(([value, text, hint], i) =>
    h('label', { class: 'choice', testid: `disposition-${value}` },
      h('input', { type: 'radio', name: 'disposition', value, required: true }),
      h('span', { class: 'choice-key' }, String(i + 1)),
      h('span', {}, h('strong', {}, text), hint ? h('span', { class: 'muted small' }, ` — ${hint}`) : null)));
  const callbackAt = h('input', { type: 'datetime-local', testid: 'complete-callback-at' });
  const callbackRow = h('label', { hidden: true }, `Call back at (${localZone})`, callbackAt);
  const notes = h('textarea', { testid: 'complete-notes', rows: 3, placeholder: 'What was said (optional)' });
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', testid: 'complete-submit' }, 'Complete call');
  const form = h('form', { class: 'form' },
    h('p', {}, 'Call with ', h('strong', {}, label)),
    h('fieldset', { class: 'choices' }, h('legend', {}, 'Outcome'), radios),
    callbackRow,
    h('label', {}, 'Notes', notes),
    h('div', { class: 'form-actions' },
      h('button', { class: 'btn', type: 'button', onclick: () => dlg.close() }, 'Cancel'), submit));
  const { dlg, error } = dialogShell('complete-dialog', 'Complete the call', form);
  const chosen = () => (form.querySelector('input[name=disposition]:checked') || {}).value;
  form.addEventListener('change', () => {
    callbackRow.hidden = chosen() !== 'callback';
    callbackAt.required = chosen() === 'callback';
    submit.textContent = chosen() === 'booked' ? 'Complete and pick the time…' : 'Complete call';
  });
  dlg.addEventListener('keydown', (ev) => {
    if (ev.target.tagName === 'TEXTAREA' || ev.target.tagName === 'INPUT' && ev.target.type !== 'radio') return;
    const i = Number(ev.key) - 1;
    if (i >= 0 && i < DISPOSITIONS.length) {
      ev.preventDefault();
      const r = radios[i].querySelector('input');
      r.checked = true;
      r.focus();
      form.dispatchEvent(new Event('change'));
    }
  });
  form.addEventListener('submit', busy(submit, async () => {
    error.hidden = true;
    const disposition = chosen();
    const body = { disposition };
    if (notes.value.trim()) body.notes = notes.value.trim();
    if (disposition === 'callback') body.callbackAt = localInputToUtc(callbackAt.value);
    try {
      await put(`/api/call-queue/${encodeURIComponent(entry.id)}/complete`, body);
      toast(`Call completed: ${humanize(disposition)}`);
      dlg.close();
      onDone(disposition);
    } catch (err) {
      showDialogError(error, 'Could not complete the call', err);
    }
  }));
  dlg.showModal();
  radios[0].querySelector('input').focus();
}

function entryLabel(e) {
  const l = e.lead || {};
  return l.name || l.company || (l.leadId || e.leadId);
}

export async function render(main) {
  let tab = sessionStorage.getItem('nextier.queueTab') || 'open';
  if (!TABS.some(([v]) => v === tab)) tab = 'open';
  let entries = [];
  let selected = null;  // entry id
  const me = h('span', { class: 'muted small', testid: 'queue-me' });
  const refreshBtn = h('button', { class: 'btn', type: 'button', testid: 'queue-refresh', title: 'Refresh (r)' }, 'Refresh');
  main.append(pageHeader('Call queue', me, refreshBtn));

  const tabs = h('div', { class: 'tabs', role: 'tablist', testid: 'queue-tabs' });
  const body = h('tbody');
  const count = h('span', { class: 'muted small', testid: 'queue-count' });
  const meetings = h('ol', { class: 'meetings', testid: 'meetings-list' });
  main.append(h('div', { class: 'grid-2-1' },
    h('section', { class: 'card' },
      h('div', { class: 'card-head' }, tabs, count),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table queue', testid: 'queue-table' },
        h('thead', {}, h('tr', {}, ['', 'Lead', 'Contact', 'Status', 'Waiting since', ''].map((t) => h('th', {}, t)))),
        body)),
      h('p', { class: 'muted small keys' }, h('kbd', {}, 'j'), h('kbd', {}, 'k'), ' select · ', h('kbd', {}, 'a'), ' assign to me · ',
        h('kbd', {}, 'c'), ' complete · ', h('kbd', {}, 'b'), ' book · ', h('kbd', {}, 'Enter'), ' open lead · ', h('kbd', {}, '?'), ' all keys')),
    h('section', { class: 'card' }, h('h2', {}, 'Upcoming meetings'), meetings)));

  const drawTabs = () => fill(tabs, TABS.map(([value, label]) => h('button', {
    type: 'button', role: 'tab', class: 'tab', 'aria-selected': String(tab === value), testid: `queue-tab-${value}`,
    disabled: value === 'mine' && !session.agentName,
    title: value === 'mine' && !session.agentName ? 'Assign a call to yourself first: the server then tells your agent name' : '',
    onclick: () => { tab = value; sessionStorage.setItem('nextier.queueTab', tab); drawTabs(); load(); },
  }, label)));
  const drawMe = () => { me.textContent = session.agentName ? `You are agent ${session.agentName}` : ''; };

  const select = (id, scroll = true) => {
    selected = id;
    for (const tr of body.querySelectorAll('tr[data-entry-id]')) {
      const on = tr.dataset.entryId === id;
      tr.classList.toggle('selected', on);
      tr.setAttribute('aria-selected', String(on));
      if (on && scroll) tr.scrollIntoView({ block: 'nearest' });
    }
  };
  const current = () => entries.find((e) => e.id === selected);

  const assign = async (e) => {
    try {
      const res = await put(`/api/call-queue/${encodeURIComponent(e.id)}/assign`, {});
      session.agentName = res.entry.assignedTo;
      drawMe();
      drawTabs();
      toast(`Assigned to you: ${entryLabel(e)}`);
      await load();
    } catch (err) {
      showError('Could not assign the call', err);
    }
  };
  const complete = (e) => openCompleteDialog(e, entryLabel(e), async (disposition) => {
    await load();
    if (disposition === 'booked') await book(e);
  });
  const book = (e) => openBookDialog(e.leadId, entryLabel(e), () => loadMeetings());

  const row = (e) => {
    const l = e.lead || {};
    const mine = session.agentName && e.assignedTo === session.agentName;
    const actions = [];
    if (e.status === 'pending' || (e.status === 'assigned' && !mine)) {
      const b = h('button', { class: 'btn btn-small', type: 'button', testid: 'assign-btn' }, 'Assign to me');
      b.addEventListener('click', busy(b, () => assign(e)));
      actions.push(b);
    }
    if (e.status !== 'completed') {
      actions.push(h('button', { class: `btn btn-small${mine ? ' btn-primary' : ''}`, type: 'button', testid: 'complete-btn', onclick: () => complete(e) }, 'Complete…'));
    }
    if (l.state === 'gold' || l.state === 'called') {
      actions.push(h('button', { class: 'btn btn-small', type: 'button', testid: 'book-btn', onclick: () => book(e) }, 'Book…'));
    }
    return h('tr', {
      testid: 'queue-row', dataset: { entryId: e.id, leadId: e.leadId, status: e.status },
      class: mine ? 'mine' : '', onclick: (ev) => { if (!ev.target.closest('button, a')) select(e.id, false); },
    },
    h('td', {}, h('span', { class: 'priority', title: 'Priority: higher is called first', testid: 'queue-priority' }, String(e.priority))),
    h('td', {},
      h('a', { href: `#/lead/${encodeURIComponent(e.leadId)}`, class: 'lead-link', testid: 'queue-lead' }, entryLabel(e)),
      h('div', { class: 'muted small' }, [l.title, l.company && l.name ? l.company : null].filter(Boolean).join(' · ') || (l.leadId || ''))),
    h('td', {},
      l.phone ? h('a', { href: `tel:${l.phone}`, class: 'mono phone', testid: 'queue-phone' }, l.phone) : h('span', { class: 'muted' }, 'no phone'),
      l.email ? h('div', { class: 'small' }, h('a', { href: `mailto:${l.email}`, testid: 'queue-email' }, l.email)) : null),
    h('td', {}, pill(e.status, 'queue-status'),
      e.assignedTo ? h('div', { class: 'small muted', testid: 'queue-assigned-to' }, mine ? 'you' : e.assignedTo) : null,
      e.disposition ? h('div', { class: 'small', testid: 'queue-disposition' }, humanize(e.disposition)) : null,
      e.callbackAt ? h('div', { class: 'small' }, 'call back ', timeEl(e.callbackAt)) : null),
    h('td', { class: 'nowrap' }, timeEl(e.createdAt)),
    h('td', { class: 'actions' }, actions));
  };

  const load = async () => {
    const list = async (params) => (await get(`/api/call-queue${query({ limit: 200, ...params })}`)).items || [];
    try {
      if (tab === 'mine') {
        entries = await list({ agent: session.agentName, status: 'assigned' });
      } else if (tab === 'completed') {
        entries = await list({ status: 'completed' });
      } else {
        // Both lists come highest priority first, then oldest: merged in that same order.
        const [pending, assigned] = await Promise.all([list({ status: 'pending' }), list({ status: 'assigned' })]);
        entries = pending.concat(assigned).sort((a, b) =>
          (b.priority - a.priority) || String(a.createdAt).localeCompare(String(b.createdAt)));
      }
    } catch (err) {
      showError('Could not load the call queue', err);
      return;
    }
    fill(body, entries.length === 0
      ? h('tr', {}, h('td', { colspan: 6 }, empty(tab === 'open' ? 'Nobody is waiting for a call. New gold leads appear here.' : 'No calls here.')))
      : entries.map(row));
    count.textContent = `${entries.length} call${entries.length === 1 ? '' : 's'}`;
    if (!entries.some((e) => e.id === selected)) selected = entries.length ? entries[0].id : null;
    select(selected, false);
  };

  const loadMeetings = async () => {
    try {
      const now = await serverNow();
      const res = await get(`/api/meetings${query({ from: now.toISOString().replace(/\.\d{3}Z$/, 'Z'), limit: 20 })}`);
      const items = (res.items || []).filter((m) => m.status === 'booked');
      fill(meetings, items.length === 0 ? h('li', {}, empty('No meetings ahead.')) : items.map((m) => {
        const li = h('li', { class: 'meeting', testid: 'meeting-item', dataset: { meetingId: m.id, leadId: m.leadId } },
          h('div', { class: 'meeting-when' }, timeEl(m.startsAt, when), h('span', { class: 'muted small' }, ` · ${m.durationMinutes || ''} min`)),
          h('div', {}, h('a', { href: `#/lead/${encodeURIComponent(m.leadId)}`, testid: 'meeting-lead' }, m.leadId)),
          h('div', { class: 'muted small' }, `with ${m.agent || '—'} · reminders ${(m.reminders || []).map((r) => `${r.offset} ${r.status}`).join(', ')}`),
          m.link ? h('a', { href: m.link, class: 'small', target: '_blank', rel: 'noopener' }, m.link) : null);
        leadName(m.leadId).then((n) => { if (n) li.querySelector('[data-testid="meeting-lead"]').textContent = n; });
        return li;
      }));
    } catch (err) {
      fill(meetings, h('li', {}, empty(`Meetings could not be loaded: ${err.describe ? err.describe() : err.message}`)));
    }
  };

  const onKey = (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || document.querySelector('dialog[open]')) return;
    if (ev.target instanceof HTMLElement && ['INPUT', 'TEXTAREA', 'SELECT'].includes(ev.target.tagName)) return;
    const i = entries.findIndex((e) => e.id === selected);
    const e = current();
    if (ev.key === 'j' || ev.key === 'ArrowDown') {
      if (entries.length) select(entries[Math.min(i + 1, entries.length - 1)].id);
    } else if (ev.key === 'k' || ev.key === 'ArrowUp') {
      if (entries.length) select(entries[Math.max(i - 1, 0)].id);
    } else if (ev.key === 'a' && e) {
      assign(e);
    } else if (ev.key === 'c' && e && e.status !== 'completed') {
      complete(e);
    } else if (ev.key === 'b' && e) {
      book(e);
    } else if (ev.key === 'Enter' && e && !(ev.target instanceof HTMLButtonElement || ev.target instanceof HTMLAnchorElement)) {
      location.hash = `#/lead/${encodeURIComponent(e.leadId)}`;
    } else if (ev.key === 'r') {
      load();
      loadMeetings();
    } else {
      return;
    }
    ev.preventDefault();
  };
  document.addEventListener('keydown', onKey);
  refreshBtn.addEventListener('click', busy(refreshBtn, () => Promise.all([load(), loadMeetings()])));

  drawMe();
  drawTabs();
  await Promise.all([load(), loadMeetings()]);
  // New gold leads arrive on their own: refresh while the tab is visible and no dialog is open.
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible' && !document.querySelector('dialog[open]')) load();
  }, REFRESH_MS);
  return () => {
    clearInterval(timer);
    document.removeEventListener('keydown', onKey);
    for (const d of document.querySelectorAll('dialog.dialog')) d.close();
  };
}
