// Dashboard: the funnel as bars, the rates, today's SMS against the cap and skip traces against
// the limit, each campaign's blocks and batches, and a feed of incoming replies. Kept live by
// WS /ws/dashboard (an overview at most once a second while anything changes, and a
// `response` message per inbound reply); GET /api/dashboard/overview paints the first frame.
import { get, openDashboardSocket, query } from './api.js';
import { clock, empty, fill, h, humanize, num, pageHeader, pct, showError, timeEl, whenLong } from './util.js';
import { leadName } from './leads.js';

const STAGES = [
  ['raw', 'Imported', 'every lead imported'],
  ['enriched', 'Skip-traced', 'a mobile number was found'],
  ['queued', 'Queued', 'drawn into a campaign block'],
  ['sent', 'Texted', 'the opener was sent'],
  ['delivered', 'Delivered', 'the carrier confirmed delivery'],
  ['responded', 'Responded', 'replied at least once'],
  ['gold', 'Gold', 'an email was captured'],
  ['called', 'Called', 'an agent completed a call'],
  ['booked', 'Booked', 'a meeting is booked'],
];
const SIDE = [
  ['optedOut', 'Opted out'],
  ['rejected', 'Rejected'],
];
const RATES = [
  ['response', 'Response rate', 'replied, of leads texted'],
  ['gold', 'Gold rate', 'emails captured, of leads texted'],
  ['booking', 'Booking rate', 'meetings booked, of leads texted'],
  ['netPositive', 'Net positive', 'positive or email replies, of leads texted (goal 10–20%)'],
];
const FEED_MAX = 50;
const FEED_INITIAL = 25;

// Sets an element's text and, when it changed, flashes it.
function setText(el, text) {
  if (el.textContent === text) return;
  const first = el.textContent === '';
  el.textContent = text;
  if (!first) {
    el.classList.remove('bump');
    void el.offsetWidth;  // restart the animation
    el.classList.add('bump');
  }
}

function meter(testid, label) {
  const value = h('span', { class: 'meter-value', testid: `${testid}-value` });
  const used = h('span', { testid: `${testid}-used` });
  const limit = h('span', { testid: `${testid}-limit` });
  const fillEl = h('div', { class: 'meter-fill' });
  const el = h('div', { class: 'meter', testid },
    h('div', { class: 'meter-head' }, h('span', { class: 'meter-label' }, label),
      h('span', { class: 'meter-numbers' }, used, h('span', { class: 'muted' }, ' of '), limit)),
    h('div', { class: 'meter-track', role: 'meter', 'aria-label': label }, fillEl),
    value);
  return {
    el,
    update(n, of) {
      setText(used, num(n));
      setText(limit, num(of));
      const f = of > 0 ? Math.min(n / of, 1) : 0;
      fillEl.style.width = `${(f * 100).toFixed(1)}%`;
      fillEl.classList.toggle('meter-high', f >= 0.9);
      el.querySelector('.meter-track').setAttribute('aria-valuenow', String(n));
      el.querySelector('.meter-track').setAttribute('aria-valuemax', String(of));
      value.textContent = of > 0 ? `${Math.round(f * 100)}% used · ${num(Math.max(of - n, 0))} left` : 'no limit set';
    },
  };
}

// A content-hash workflow version, shortened for reading.
const shortVersion = (v) => (typeof v === 'string' && v.length > 10 ? v.slice(0, 8) : String(v));

function campaignCard(c) {
  const counts = c.counts || {};
  const progress = c.progress || { batches: 0, batchesSent: 0 };
  const f = progress.batches > 0 ? progress.batchesSent / progress.batches : 0;
  const capF = c.today && c.today.cap > 0 ? Math.min(c.today.sent / c.today.cap, 1) : 0;
  return h('article', { class: 'campaign', testid: 'campaign', dataset: { campaignId: c.id } },
    h('header', { class: 'campaign-head' },
      h('div', {},
        h('h3', { testid: 'campaign-name' }, c.name || c.id),
        h('p', { class: 'muted small' },
          `${c.workflow ? `${c.workflow.id} · version ${shortVersion(c.workflow.version)}` : ''} · from ${c.fromNumber || '—'}`)),
      h('span', { class: `pill pill-${c.status}`, testid: 'campaign-status' }, humanize(c.status))),
    h('dl', { class: 'campaign-counts' },
      ...[['queued', 'Queued'], ['sent', 'Sent'], ['delivered', 'Delivered'], ['responded', 'Responded'],
        ['gold', 'Gold'], ['optedOut', 'Opted out'], ['failed', 'Failed']].map(([k, label]) =>
        h('div', {}, h('dt', {}, label), h('dd', { testid: `campaign-${k}` }, num(counts[k]))))),
    h('div', { class: 'campaign-progress' },
      h('div', { class: 'progress-line' },
        h('span', {}, 'Batches sent'),
        h('span', { testid: 'campaign-progress' }, `${num(progress.batchesSent)} of ${num(progress.batches)}`)),
      h('div', { class: 'meter-track' }, h('div', { class: 'meter-fill', style: { width: `${(f * 100).toFixed(1)}%` } })),
      c.today ? h('div', { class: 'progress-line small' },
        h('span', {}, 'Texts today from this number'),
        h('span', { class: capF >= 0.9 ? 'warn' : '' , testid: 'campaign-today' }, `${num(c.today.sent)} of ${num(c.today.cap)}`)) : null),
    (c.blocks || []).length === 0
      ? h('p', { class: 'muted small' }, 'No block drawn yet.')
      : h('div', { class: 'blocks' }, (c.blocks || []).map((b) =>
        h('div', { class: 'block', testid: 'block', dataset: { block: b.number } },
          h('span', { class: 'block-label' }, `Block ${b.number}`, h('span', { class: 'muted' }, ` · ${num(b.size)} leads`)),
          h('span', { class: 'batches' }, (b.batches || []).map((x) =>
            h('span', {
              class: `batch batch-${x.status}`, testid: 'batch', dataset: { status: x.status },
              title: `Batch ${x.number}: ${num(x.size)} leads, ${x.status}` +
                (x.sentAt ? ` at ${whenLong(x.sentAt)}; ${num(x.texted)} texted, ${num(x.deferred)} waiting, ${num(x.failed)} failed` : ''),
            }, String(x.number))))))));
}

const CLASS_LABEL = {
  EMAIL: 'Email', POSITIVE: 'Positive', NEGATIVE: 'Negative', QUESTION: 'Question', HELP: 'Help',
  OPT_OUT: 'Opt-out', WRONG_NUMBER: 'Wrong number', OTHER: 'Other',
};
export function classBadge(cls) {
  return h('span', { class: `cls cls-${(cls || 'OTHER').toLowerCase()}`, testid: 'reply-class' }, CLASS_LABEL[cls] || humanize(cls));
}

export async function render(main) {
  const live = h('span', { class: 'live', testid: 'live-status', dataset: { state: 'connecting' } }, 'Connecting…');
  const asOf = h('span', { class: 'muted small', testid: 'as-of' });
  main.append(pageHeader('Dashboard', asOf, live));

  // Rates.
  const rateEls = {};
  const ratesRow = h('section', { class: 'rates', 'aria-label': 'Rates' }, RATES.map(([k, label, hint]) => {
    rateEls[k] = h('span', { class: 'rate-value', testid: `rate-${k}` });
    return h('div', { class: 'card rate', title: hint }, h('span', { class: 'rate-label' }, label), rateEls[k],
      h('span', { class: 'muted small' }, hint));
  }));

  // The funnel.
  const bars = {};
  const funnel = h('div', { class: 'funnel', testid: 'funnel', role: 'list' }, STAGES.map(([k, label, hint]) => {
    const count = h('span', { class: 'funnel-count', testid: `funnel-${k}` });
    const conv = h('span', { class: 'funnel-conv muted small', testid: `funnel-${k}-conv` });
    const bar = h('div', { class: `funnel-bar funnel-bar-${k}` });
    bars[k] = { count, conv, bar };
    return h('div', { class: 'funnel-row', role: 'listitem', title: hint },
      h('span', { class: 'funnel-label' }, label),
      h('div', { class: 'funnel-track' }, bar),
      count, conv);
  }));
  const sideEls = {};
  const side = h('div', { class: 'funnel-side' }, SIDE.map(([k, label]) => {
    sideEls[k] = h('strong', { testid: `funnel-${k}` });
    return h('span', {}, `${label} `, sideEls[k]);
  }));
  const byClass = h('div', { class: 'by-class', testid: 'replies-by-class' });

  // Today.
  const sms = meter('today-sms', 'Texts sent today');
  const skip = meter('today-skip', 'Skip traces today');

  const campaigns = h('div', { class: 'campaigns', testid: 'campaigns' });
  const feed = h('ol', { class: 'feed', testid: 'reply-feed', 'aria-live': 'polite' });
  const feedNote = h('p', { class: 'muted small feed-note' });

  main.append(
    ratesRow,
    h('div', { class: 'grid-2-1' },
      h('section', { class: 'card' }, h('h2', {}, 'Funnel', h('span', { class: 'muted small' }, ' · every lead counted at each stage it reached')), funnel, side, byClass),
      h('section', { class: 'card' }, h('h2', {}, 'Today'), sms.el, skip.el,
        h('p', { class: 'muted small' }, 'The SMS cap is per sending number and carrier day (Pacific time); skip traces have a daily allowance.'))),
    h('div', { class: 'grid-2-1' },
      h('section', { class: 'card' }, h('h2', {}, 'Campaigns'), campaigns),
      h('section', { class: 'card' }, h('h2', {}, 'Replies', h('span', { class: 'muted small' }, ' · newest first')), feedNote, feed)));

  let lastCampaigns = '';
  const update = (o) => {
    setText(asOf, o.asOf ? `Server time ${whenLong(o.asOf)}` : '');
    const fun = o.funnel || {};
    const max = Math.max(1, ...STAGES.map(([k]) => fun[k] || 0));
    STAGES.forEach(([k], i) => {
      const n = fun[k] || 0;
      setText(bars[k].count, num(n));
      bars[k].count.dataset.value = String(n);
      bars[k].bar.style.width = n > 0 ? `max(3px, ${(n / max * 100).toFixed(2)}%)` : '0';
      const prev = i > 0 ? fun[STAGES[i - 1][0]] || 0 : 0;
      bars[k].conv.textContent = i > 0 && prev > 0 ? pct(n / prev) : '';
      bars[k].conv.title = i > 0 ? `of ${STAGES[i - 1][1].toLowerCase()}` : '';
    });
    for (const [k] of SIDE) {
      setText(sideEls[k], num(fun[k] || 0));
      sideEls[k].dataset.value = String(fun[k] || 0);
    }
    for (const [k] of RATES) {
      const v = o.rates ? o.rates[k] : undefined;
      setText(rateEls[k], pct(v));
      rateEls[k].dataset.value = String(v);
    }
    const classes = o.replies && o.replies.byClass ? Object.entries(o.replies.byClass) : [];
    fill(byClass, classes.length === 0 ? null : [
      h('span', { class: 'muted small' }, `Replies ${num(o.replies.total)}: `),
      classes.sort((a, b) => b[1] - a[1]).map(([cls, n]) => h('span', { class: 'by-class-item' }, classBadge(cls), ` ${num(n)}`)),
    ]);
    const t = o.today || {};
    sms.update(t.smsSent || 0, t.smsCap || 0);
    skip.update(t.skipTraced || 0, t.skipTraceLimit || 0);
    const cj = JSON.stringify(o.campaigns || []);
    if (cj !== lastCampaigns) {
      lastCampaigns = cj;
      fill(campaigns, (o.campaigns || []).length === 0
        ? empty('No campaign yet. Ops create one with POST /api/campaigns/create.')
        : o.campaigns.map(campaignCard));
    }
  };

  // The reply feed: items newest first.
  const feedItem = (r, fresh) => {
    const who = h('span', { class: 'feed-who' });
    if (r.leadId) {
      who.append(h('a', { href: `#/lead/${encodeURIComponent(r.leadId)}`, testid: 'reply-lead' }, r.leadId));
      leadName(r.leadId).then((name) => { if (name) who.firstChild.textContent = name; });
    } else {
      who.append(h('span', { class: 'muted' }, r.from ? `${r.from} (not a lead)` : 'Unknown number'));
    }
    return h('li', {
      class: `feed-item${fresh ? ' fresh' : ''}${r.goldLabel ? ' is-gold' : ''}`, testid: 'reply-item',
      dataset: { leadId: r.leadId || '', classification: r.classification || '', key: r.id || r.messageId || '' },
    },
    h('div', { class: 'feed-line' }, classBadge(r.classification), who,
      r.goldLabel ? h('span', { class: 'gold-star', title: 'Gold label: email captured', testid: 'reply-gold' }, '★ gold') : null,
      h('span', { class: 'feed-time muted small' }, timeEl(r.at || r.receivedAt, clock))),
    r.body ? h('p', { class: 'feed-body' }, r.body) : null);
  };
  const addFresh = (r) => {
    feedNote.textContent = '';
    if (r.messageId && feed.querySelector(`[data-key="${CSS.escape(r.messageId)}"]`)) return;
    const placeholder = feed.querySelector('.empty');
    if (placeholder) placeholder.remove();
    feed.prepend(feedItem(r, true));
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
  };

  let socket = null;
  let stopped = false;
  try {
    const overview = await get('/api/dashboard/overview');
    if (stopped) return undefined;
    update(overview);
    loadRecentReplies(overview, feed, feedNote, feedItem);
  } catch (err) {
    showError('Could not load the dashboard', err);
  }
  socket = openDashboardSocket((msg) => {
    if (msg.type === 'overview' && msg.data) update(msg.data);
    else if (msg.type === 'response' && msg.data) addFresh(msg.data);
  }, (state) => {
    live.dataset.state = state;
    live.textContent = { open: 'Live', connecting: 'Connecting…', closed: 'Reconnecting…' }[state];
    live.title = state === 'open' ? 'Updates arrive as they happen' : 'The live connection is down; retrying';
  });
  return () => {
    stopped = true;
    if (socket) socket.close();
  };
}

// The last replies before the page opened. GET /api/responses pages oldest first, so this
// walks to the end only while that is cheap (at most a few pages); past that the feed starts
// empty and fills as replies arrive.
async function loadRecentReplies(overview, feed, note, feedItem) {
  const total = overview.replies ? overview.replies.total : 0;
  if (!total) {
    fill(feed, h('li', { class: 'empty muted' }, 'No replies yet. They appear here the moment they arrive.'));
    return;
  }
  if (total > 3000) {
    note.textContent = `${num(total)} replies so far; new ones appear here as they arrive.`;
    return;
  }
  try {
    let items = [];
    let cursor = '';
    for (let page = 0; page < 4; ++page) {
      const res = await get(`/api/responses${query({ limit: 1000, cursor })}`);
      items = items.concat(res.items || []).slice(-FEED_INITIAL);
      if (!res.next) break;
      cursor = res.next;
    }
    // Live replies may already be in the feed: keep them on top, older ones below.
    const shown = new Set([...feed.querySelectorAll('[data-testid="reply-item"]')].map((li) => li.dataset.key));
    for (const r of items.reverse()) {
      if (feed.children.length >= FEED_MAX) break;
      if (!shown.has(r.id)) feed.append(feedItem(r, false));
    }
  } catch (err) {
    note.textContent = `Earlier replies could not be loaded: ${err.describe ? err.describe() : err.message}`;
  }
}
