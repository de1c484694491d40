// Leads: a list by state (#/leads) and one lead (#/lead/ID): the profile from GET /api/leads/{id}
// and the event history from GET /api/leads/{id}/history as a timeline (with ?at= for the state
// at a past moment). The history also accepts the human LEAD ID (NXT-000123) and names the
// internal id, which the profile needs.
import { get, query, session } from './api.js';
import {
  clock, day, empty, fill, h, humanize, localInputToUtc, num, pageHeader, pill, showError, timeEl, whenLong,
} from './util.js';

const STATES = ['raw', 'enriched', 'queued', 'sent', 'responded', 'gold', 'called', 'booked',
  'rejected', 'no_hit', 'failed', 'opted_out', 'not_interested'];

export function displayName(l) {
  if (!l) return '';
  const name = l.fullName || [l.firstName, l.lastName].filter(Boolean).join(' ');
  return name || l.company || l.leadId || l.id;
}

// A lead's display name for lists that only carry its id; cached for the page's life, null
// when it cannot be read (an auditor's key, a lead not there).
const names = new Map();
export function leadName(id) {
  if (!id || !session.can('ops', 'agent')) return Promise.resolve(null);
  if (!names.has(id)) {
    names.set(id, get(`/api/leads/${encodeURIComponent(id)}`)
      .then((l) => ({ name: displayName(l), lead: l }))
      .catch(() => null));
  }
  return names.get(id).then((x) => (x ? x.name : null));
}
export function cachedLead(id) {
  return names.has(id) ? names.get(id).then((x) => (x ? x.lead : null)) : Promise.resolve(null);
}

export async function render(main, arg, page) {
  if (page === 'lead' && arg) return renderLead(main, arg);
  return renderList(main);
}

// ---- the list ----------------------------------------------------------------------------

function lookupForm() {
  const input = h('input', { type: 'search', testid: 'lead-lookup-input', placeholder: 'NXT-000123 or a lead id', spellcheck: 'false' });
  return h('form', {
    class: 'inline-form', testid: 'lead-lookup',
    onsubmit: (ev) => {
      ev.preventDefault();
      if (input.value.trim()) location.hash = `#/lead/${encodeURIComponent(input.value.trim())}`;
    },
  }, h('label', {}, 'Open lead ', input), h('button', { class: 'btn', type: 'submit' }, 'Open'));
}

async function renderList(main) {
  main.append(pageHeader('Leads', lookupForm()));
  if (!session.can('ops', 'agent')) {
    main.append(h('div', { class: 'card' }, h('p', {}, 'Enter a lead ID above to see its history as it was recorded.'),
      h('p', { class: 'muted' }, 'Auditors read lead histories; listing leads needs an ops or agent key.')));
    return;
  }
  const stateSel = h('select', { testid: 'leads-state' },
    h('option', { value: '' }, 'Any state'), STATES.map((s) => h('option', { value: s }, humanize(s))));
  const body = h('tbody');
  const more = h('button', { class: 'btn', type: 'button', testid: 'leads-more', hidden: true }, 'Load more');
  let cursor = null;
  const load = async (reset) => {
    if (reset) { cursor = null; body.replaceChildren(); }
    try {
      const res = await get(`/api/leads${query({ status: stateSel.value, limit: 50, cursor })}`);
      for (const l of res.items || []) {
        body.append(h('tr', { testid: 'lead-row', dataset: { leadId: l.id } },
          h('td', { class: 'mono' }, h('a', { href: `#/lead/${encodeURIComponent(l.id)}` }, l.leadId || '—')),
          h('td', {}, h('a', { href: `#/lead/${encodeURIComponent(l.id)}` }, displayName(l))),
          h('td', {}, l.company || ''),
          h('td', {}, l.title || ''),
          h('td', {}, pill(l.state)),
          h('td', { class: 'mono nowrap' }, l.phone || ''),
          h('td', {}, l.email || ''),
          h('td', { class: 'nowrap' }, timeEl(l.updatedAt))));
      }
      if (!body.children.length) body.append(h('tr', {}, h('td', { colspan: 8 }, empty('No leads in this state.'))));
      cursor = res.next;
      more.hidden = !cursor;
    } catch (err) {
      showError('Could not list the leads', err);
    }
  };
  stateSel.addEventListener('change', () => load(true));
  more.addEventListener('click', () => load(false));
  main.append(h('section', { class: 'card' },
    h('div', { class: 'toolbar' }, h('label', {}, 'State ', stateSel)),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'leads-table' },
      h('thead', {}, h('tr', {}, ['LEAD ID', 'Name', 'Company', 'Title', 'State', 'Phone', 'Email', 'Updated'].map((t) => h('th', {}, t)))),
      body)),
    more));
  await load(true);
  return undefined;
}

// ---- one lead ----------------------------------------------------------------------------

// A field of an event's data as short text ("" when missing, null, empty or false).
function str(d, name) {
  if (!d || typeof d !== 'object') return '';
  const v = d[name];
  if (v === undefined || v === null || v === false || v === '') return '';
  if (v === true) return 'yes';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
const opt = (sep, text) => (text ? sep + text : '');

// The key data of one event in a line, as `nextier history` prints it.
export function summary(type, d) {
  switch (type) {
    case 'LeadImported':
      return `row ${str(d, 'row')} of file ${str(d, 'fileId')}${str(d, 'source') ? ` (${str(d, 'source')})` : ''}` +
          `${opt(', ', str(d, 'company'))}${str(d, 'isEntity') ? ', entity' : ''}`;
    case 'DuplicateFound': return `matches lead ${str(d, 'matchedLeadId')}${opt(' by ', str(d, 'matchedBy'))}`;
    case 'LeadRejected': return str(d, 'code') + opt(': ', str(d, 'reason'));
    case 'LeadEnriched': return str(d, 'humanId') + opt(' ', str(d, 'phoneType')) + opt(' via ', str(d, 'provider'));
    case 'LeadNoHit': return str(d, 'reason');
    case 'SkipTraceAttemptFailed':
      return `attempt ${str(d, 'attempt')}${opt(': ', str(d, 'reason'))}${str(d, 'final') ? ' (final)' : ''}`;
    case 'LeadQueued':
      return `campaign ${str(d, 'campaignId')} block ${str(d, 'blockNumber')} batch ${str(d, 'batchNumber')}`;
    case 'SmsSendIntended': return `${str(d, 'kind')} ${str(d, 'messageKey')}${opt(' template ', str(d, 'template'))}`;
    case 'SmsSent':
      return `${str(d, 'kind')} ${str(d, 'messageKey')}${opt(' → ', str(d, 'providerMessageId'))}${str(d, 'reconciled') ? ' (reconciled)' : ''}`;
    case 'SmsSendFailed':
      return str(d, 'messageKey') + opt(' ', str(d, 'code')) + opt(': ', str(d, 'reason')) + (str(d, 'permanent') ? ' (permanent)' : '');
    case 'SmsSendUnknown': return str(d, 'messageKey') + opt(': ', str(d, 'reason'));
    case 'SmsDelivered': return str(d, 'providerMessageId');
    case 'SmsDeliveryFailed': return str(d, 'providerMessageId') + opt(': ', str(d, 'reason'));
    case 'ReplyReceived':
      return str(d, 'classification') + (str(d, 'goldLabel') ? ' (gold label)' : '') + opt(' ', str(d, 'providerMessageId'));
    case 'LeadResponded': return str(d, 'classification');
    case 'LeadGoldLabeled': return `gold label${str(d, 'phoneVerified') ? ', phone verified' : ''}`;
    case 'LeadOptedOut': return `via ${str(d, 'source')}`;
    case 'LeadNotInterested': return `via ${str(d, 'source')}${opt(': ', str(d, 'reason'))}`;
    case 'NumberSuppressed': return str(d, 'reason');
    case 'CallQueued': return `entry ${str(d, 'entryId')}${opt(' priority ', str(d, 'priority'))}${opt(' ', str(d, 'reason'))}`;
    case 'CallAssigned': return `entry ${str(d, 'entryId')} to ${str(d, 'agent')}`;
    case 'CallCompleted':
      return str(d, 'disposition') + opt(' by ', str(d, 'agent')) + opt(', call back at ', str(d, 'callbackAt'));
    case 'CallRequeued':
    case 'CallClosed': return `entry ${str(d, 'entryId')}${opt(': ', str(d, 'reason'))}`;
    case 'MeetingBooked':
      return `${str(d, 'meetingId')} at ${str(d, 'startsAt')}${str(d, 'durationMinutes') ? ` for ${str(d, 'durationMinutes')} min` : ''}${opt(' with ', str(d, 'agent'))}`;
    case 'MeetingCancelled': return str(d, 'meetingId') + opt(': ', str(d, 'reason'));
    case 'MeetingOutcomeRecorded': return `${str(d, 'meetingId')}: ${str(d, 'outcome')}`;
    case 'MeetingRescheduled': return `${str(d, 'meetingId')} ${str(d, 'previousStartsAt')} → ${str(d, 'startsAt')}`;
    case 'ReminderSent': return `${str(d, 'meetingId')} ${str(d, 'offset')}`;
    case 'ReminderSkipped': return `${str(d, 'meetingId')} ${str(d, 'offset')}${opt(': ', str(d, 'reason'))}`;
    case 'TimerScheduled': return `${str(d, 'kind')} ${str(d, 'timerId')}${opt(' due ', str(d, 'dueAt'))}`;
    case 'TimerFired': return str(d, 'timerId');
    case 'TimerCancelled': return str(d, 'timerId') + opt(': ', str(d, 'reason'));
    case 'LeadForgotten': return str(d, 'reason');
    default: {
      const parts = [];
      for (const [k, v] of Object.entries(d || {})) {
        if (parts.length >= 3) break;
        if (k === 'personal' || (v && typeof v === 'object')) continue;
        const s = str(d, k);
        if (s && s.length <= 40) parts.push(`${k}=${s}`);
      }
      return parts.join(' ');
    }
  }
}

function category(type) {
  if (/^Timer/.test(type)) return 'timer';
  if (/Rejected|OptedOut|Failed|NotInterested|Suppressed|NoHit|Forgotten|Cancelled/.test(type)) return 'bad';
  if (/Gold/.test(type)) return 'gold';
  if (/^Sms|^Reminder/.test(type)) return 'sms';
  if (/Reply|Responded/.test(type)) return 'reply';
  if (/^Call|^Meeting/.test(type)) return 'call';
  return 'info';
}

function profile(l) {
  const a = l.address || {};
  const address = [a.street, [a.city, a.state].filter(Boolean).join(', '), a.zip].filter(Boolean).join(' · ');
  const row = (label, value, testid) => (value === null || value === undefined || value === '' ? null
    : h('div', { class: 'kv' }, h('dt', {}, label), h('dd', { testid }, value)));
  return h('dl', { class: 'profile', testid: 'lead-profile' },
    row('Company', l.company, 'lead-company'),
    row('Title', l.title, 'lead-title'),
    row('Phone', l.phone ? h('a', { href: `tel:${l.phone}`, class: 'mono' }, l.phone) : null, 'lead-phone'),
    (l.phones || []).length > 1 ? row('Other phones', l.phones.slice(1).join(', ')) : null,
    row('Email', l.email ? h('a', { href: `mailto:${l.email}` }, l.email) : null, 'lead-email'),
    row('Address', address || null, 'lead-address'),
    a.mailing ? row('Mailing address', a.mailing) : null,
    a.property ? row('Property', a.property) : null,
    row('Role score', typeof l.roleScore === 'number' ? String(l.roleScore) : null, 'lead-role-score'),
    l.isEntity ? row('Owner', 'a company or trust: never skip-traced') : null,
    row('Campaign', l.campaignId ? `${l.campaignId}${l.block ? ` · block ${l.block}` : ''}${l.batch ? ` · batch ${l.batch}` : ''}` : null, 'lead-campaign'),
    row('Gold label', l.goldLabeledAt ? timeEl(l.goldLabeledAt, whenLong) : null, 'lead-gold-at'),
    row('Source', l.fileId ? `${l.source || 'file'} ${l.fileId}, row ${l.row}` : null),
    row('Created', timeEl(l.createdAt, whenLong)),
    row('Updated', timeEl(l.updatedAt, whenLong)));
}

async function renderLead(main, id) {
  const title = h('h1', { testid: 'lead-name' }, id);
  const badges = h('div', { class: 'lead-badges' });
  main.append(h('div', { class: 'page-head' }, h('div', { class: 'title-row' }, title, badges),
    h('div', { class: 'page-tools' }, lookupForm())));

  const profileCard = h('section', { class: 'card' }, h('h2', {}, 'Profile'), h('p', { class: 'muted' }, 'Loading…'));
  const atInput = h('input', { type: 'datetime-local', testid: 'history-at', step: 1 });
  const atNote = h('span', { class: 'muted small', testid: 'history-at-note' });
  const showTimers = h('input', { type: 'checkbox', testid: 'history-show-timers' });
  const timeline = h('ol', { class: 'timeline', testid: 'timeline' });
  const historyCard = h('section', { class: 'card' },
    h('div', { class: 'card-head' }, h('h2', {}, 'History'),
      h('form', {
        class: 'inline-form', testid: 'history-at-form',
        onsubmit: (ev) => { ev.preventDefault(); loadHistory(); },
      },
      h('label', {}, 'As of ', atInput),
      h('button', { class: 'btn', type: 'submit' }, 'Show'),
      h('button', { class: 'btn btn-quiet', type: 'button', onclick: () => { atInput.value = ''; loadHistory(); } }, 'Now'))),
    h('div', { class: 'toolbar small' }, atNote,
      h('label', { class: 'check' }, showTimers, ' Show timer events')),
    timeline);
  main.append(h('div', { class: 'grid-1-2' }, profileCard, historyCard));

  let history = null;
  const drawTimeline = () => {
    if (!history) return;
    const events = history.events || [];
    const timers = events.filter((e) => category(e.type) === 'timer').length;
    const visible = events.filter((e) => showTimers.checked || category(e.type) !== 'timer');
    fill(timeline, visible.length === 0 ? h('li', {}, empty('No events.')) : visible.slice().reverse().map((e) =>
      h('li', { class: `tl-item tl-${category(e.type)}`, testid: 'timeline-event', dataset: { type: e.type, seq: e.seq } },
        h('div', { class: 'tl-time' }, h('time', { datetime: e.at, title: e.at },
          h('span', { class: 'tl-clock' }, clock(e.at)), h('span', { class: 'tl-day' }, day(e.at)))),
        h('div', { class: 'tl-body' },
          h('div', { class: 'tl-title' }, h('strong', { testid: 'timeline-type' }, humanize(e.type)),
            h('span', { class: 'tl-summary' }, ` ${summary(e.type, e.data)}`)),
          h('div', { class: 'tl-meta muted small' },
            `#${e.seq} · v${e.version} · by ${e.actor || 'system'}`,
            e.correlationId ? ` · correlation ${e.correlationId}` : ''),
          h('details', { class: 'tl-details' }, h('summary', {}, 'Details'),
            h('pre', {}, JSON.stringify({ data: e.data, causationId: e.causationId, hash: e.hash }, null, 2)))))));
    showTimers.parentElement.title = `${timers} timer events`;
    showTimers.parentElement.lastChild.textContent = ` Show timer events (${timers})`;
  };
  showTimers.addEventListener('change', drawTimeline);

  const loadHistory = async () => {
    const at = localInputToUtc(atInput.value);
    try {
      history = await get(`/api/leads/${encodeURIComponent(id)}/history${query({ at })}`);
    } catch (err) {
      fill(timeline, h('li', {}, empty(err.status === 404 ? `No history: ${err.message}` : 'The history could not be loaded.')));
      if (err.status !== 404) showError('Could not load the history', err);
      return null;
    }
    atNote.textContent = history.at
      ? `State as of ${whenLong(history.at)}: ${humanize(history.state)} · ${num(history.events.length)} events`
      : `${num((history.events || []).length)} events`;
    drawTimeline();
    return history;
  };

  const first = await loadHistory();
  if (!first) {
    fill(profileCard, h('h2', {}, 'Profile'), empty(`No lead “${id}”.`));
    return undefined;
  }
  const internal = first.leadId;
  fill(badges, pill(first.state, 'lead-state'),
    first.humanId ? h('span', { class: 'tag mono', testid: 'lead-human-id' }, first.humanId) : null);
  if (!session.can('ops', 'agent')) {
    fill(profileCard, h('h2', {}, 'Profile'), h('p', { class: 'muted' }, 'Profiles are for ops and agents; the history shows what was recorded.'),
      h('p', { class: 'mono small' }, internal));
    title.textContent = first.humanId || internal;
    return undefined;
  }
  try {
    const l = await get(`/api/leads/${encodeURIComponent(internal)}`);
    title.textContent = displayName(l);
    fill(badges, pill(l.state, 'lead-state'),
      l.leadId ? h('span', { class: 'tag mono', testid: 'lead-human-id' }, l.leadId) : null,
      l.isEntity ? h('span', { class: 'tag' }, 'entity') : null);
    fill(profileCard, h('h2', {}, 'Profile'), profile(l),
      h('p', { class: 'muted small mono', title: 'internal lead id' }, l.id));
    document.title = `${displayName(l)} · Nextier`;
  } catch (err) {
    fill(profileCard, h('h2', {}, 'Profile'), empty('The profile could not be loaded.'));
    showError('Could not load the lead', err);
  }
  return undefined;
}

