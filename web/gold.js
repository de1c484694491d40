// Gold labels: every lead whose reply gave an email, with the verified phone, newest pages on
// demand (GET /api/responses/gold-labels).
import { get, query } from './api.js';
import { empty, h, pageHeader, showError, timeEl, whenLong } from './util.js';
import { cachedLead, leadName } from './leads.js';

export async function render(main) {
  const count = h('span', { class: 'muted small', testid: 'gold-count' });
  main.append(pageHeader('Gold labels', count));
  const body = h('tbody');
  const more = h('button', { class: 'btn', type: 'button', testid: 'gold-more', hidden: true }, 'Load more');
  main.append(h('section', { class: 'card' },
    h('p', { class: 'muted small' }, 'A lead is gold once a reply to our text gave an email: the number we texted is then verified as theirs.'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'gold-table' },
      h('thead', {}, h('tr', {}, ['Lead', 'Email', 'Phone', 'Labelled', 'Campaign', 'Message'].map((t) => h('th', {}, t)))),
      body)),
    more));

  // Campaign names: the dashboard overview carries them (GET /api/campaigns is for ops only).
  const campaignNames = get('/api/dashboard/overview')
    .then((o) => new Map((o.campaigns || []).map((c) => [c.id, c.name])))
    .catch(() => new Map());
  let cursor = null;
  let total = 0;
  const load = async () => {
    let res;
    try {
      res = await get(`/api/responses/gold-labels${query({ limit: 100, cursor })}`);
    } catch (err) {
      showError('Could not load the gold labels', err);
      return;
    }
    for (const g of res.items || []) {
      const name = h('a', { href: `#/lead/${encodeURIComponent(g.leadId)}`, testid: 'gold-lead' }, g.leadId);
      const sub = h('div', { class: 'muted small' });
      leadName(g.leadId).then(async (n) => {
        if (!n) return;
        name.textContent = n;
        const l = await cachedLead(g.leadId);
        if (l) sub.textContent = [l.leadId, l.company].filter(Boolean).join(' · ');
      });
      body.append(h('tr', { testid: 'gold-row', dataset: { leadId: g.leadId } },
        h('td', {}, name, sub),
        h('td', { testid: 'gold-email' }, h('a', { href: `mailto:${g.email}` }, g.email)),
        h('td', { class: 'nowrap' }, h('a', { href: `tel:${g.phone}`, class: 'mono', testid: 'gold-phone' }, g.phone),
          g.phoneVerified ? h('span', { class: 'verified', title: 'The lead answered from this number', testid: 'gold-verified' }, ' ✓ verified') : null),
        h('td', { class: 'nowrap' }, timeEl(g.goldLabeledAt, whenLong)),
        h('td', {}, campaignCell(g.campaignId)),
        h('td', { class: 'mono small muted' }, g.messageId || '—')));
      ++total;
    }
    if (total === 0) body.append(h('tr', {}, h('td', { colspan: 6 }, empty('No gold labels yet: they appear when a reply carries an email.'))));
    cursor = res.next;
    more.hidden = !cursor;
    count.textContent = `${total}${cursor ? '+' : ''} lead${total === 1 ? '' : 's'}`;
  };
  function campaignCell(id) {
    if (!id) return h('span', { class: 'muted' }, '—');
    const el = h('span', { class: 'mono small', title: id, testid: 'gold-campaign' }, id);
    campaignNames.then((names) => {
      if (names.has(id)) {
        el.textContent = names.get(id);
        el.classList.remove('mono', 'small');
      }
    });
    return el;
  }
  more.addEventListener('click', load);
  await load();
  return undefined;
}
