// Browser tests of the web UI: a real `nextier serve --provider sandbox --sim-clock`, seeded only
// through the HTTP API (upload, skip trace, a campaign whose openers go out), driven in Debian's
// chromium by playwright-core. Each page is checked against the API's own answers and
// photographed into NEXTIER_SCREENSHOT_DIR.
//
//   NEXTIER_BINARY=build/debug/app/nextier NEXTIER_SCREENSHOT_DIR=/tmp/shots node ui.test.mjs
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const BINARY = process.env.NEXTIER_BINARY;
const SHOTS = process.env.NEXTIER_SCREENSHOT_DIR || path.join(os.tmpdir(), 'nextier-screenshots');
const CHROMIUM = process.env.NEXTIER_CHROMIUM || '/usr/bin/chromium';
const SECRET = 'browser-test-webhook-secret';
const KEYS = { ops: 'ops-key-0001', agent: 'agent-key-0001', auditor: 'audit-key-0001', admin: 'admin-key-0001' };
// NEXTIER_API_KEYS entries are named ROLE-INDEX: the agent's key is the second.
const AGENT_NAME = 'agent-2';
const FROM = '+15164079249';
// Monday 2026-11-30, 14:00 in New York, 11:00 in Los Angeles: inside every quiet-hours window.
const SIM_START = '2026-11-30T19:00:00Z';
const TIMEZONE = 'America/New_York';
const WAIT = 30_000;  // a debug ASan server is slow: generous, but bounded

let server;  // { proc, base, output() }
let browser;
let dataDir;
let texted;  // lead id -> the number its opener went to

// ---- the server ------------------------------------------------------------------------

function startServer() {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nextier-ui-'));
  const proc = spawn(BINARY, ['serve', '--port', '0', '--data', dataDir, '--provider', 'sandbox', '--sim-clock', SIM_START], {
    env: {
      ...process.env,
      NEXTIER_API_KEYS: `ops:${KEYS.ops},agent:${KEYS.agent},auditor:${KEYS.auditor},admin:${KEYS.admin}`,
      NEXTIER_WEBHOOK_SECRET: SECRET,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nextier serve did not print its port within 60 s:\n${out}\n${err}`)), 60_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nextier serve exited ${code} before serving:\n${out}\n${err}`));
    });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /serving on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        resolve({ proc, base: `http://127.0.0.1:${m[1]}`, output: () => `${out}\n${err}` });
      }
    });
  });
}

function stopServer() {
  if (!server || server.proc.exitCode !== null) return Promise.resolve(server ? server.proc.exitCode : 0);
  return new Promise((resolve) => {
    const kill = setTimeout(() => server.proc.kill('SIGKILL'), 30_000);
    server.proc.on('exit', (code, signal) => { clearTimeout(kill); resolve(code ?? signal); });
    server.proc.kill('SIGTERM');
  });
}

// ---- the API -----------------------------------------------------------------------------

async function call(method, urlPath, key, body, expect) {
  const headers = {};
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(server.base + urlPath, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (expect !== undefined) assert.equal(res.status, expect, `${method} ${urlPath}: ${text}`);
  return text ? JSON.parse(text) : null;
}
const api = (urlPath, key = KEYS.ops) => call('GET', urlPath, key, undefined, 200);

// GETs `urlPath` until `done(answer)` holds (read models follow the log a moment later).
async function apiUntil(urlPath, key, done, what) {
  let last;
  for (const end = Date.now() + WAIT; Date.now() < end;) {
    last = await api(urlPath, key);
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: ${urlPath} still answers ${JSON.stringify(last)}`);
}

function ownersCsv(rows, from = 0) {
  const first = ['John', 'Mary', 'Ahmed', 'Lucia', 'Wei', 'Olga', 'Kwame', 'Ines'];
  let csv = 'Company Name,Address,City,State,Zip,Contact First,Contact Last,Title\n';
  for (let i = from; i < from + rows; ++i) {
    csv += `Shop ${i},${i + 1} Broadway,New York,NY,10001,${first[i % 8]},Owner${i},Owner\n`;
  }
  return csv;
}

async function upload(csv, name) {
  const res = await fetch(`${server.base}/api/data-hub/upload?name=${name}`, {
    method: 'POST', headers: { Authorization: `Bearer ${KEYS.ops}`, 'Content-Type': 'text/csv' }, body: csv,
  });
  const text = await res.text();
  assert.equal(res.status, 202, text);
  return JSON.parse(text).file;
}

// Imports owners, skip-traces them, starts a campaign and sends the openers, as
// tests/app/inbound_serve_test.cc does. Returns lead id -> the number it was texted at.
async function seed() {
  await upload(ownersCsv(12), 'owners.csv');
  let job = (await call('POST', '/api/skip-trace/start', KEYS.ops, {}, 202)).job;
  for (const end = Date.now() + WAIT; job.status !== 'done' && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 100));
    job = await api(`/api/skip-trace/status/${job.id}`);
  }
  assert.equal(job.status, 'done', JSON.stringify(job));
  const c = (await call('POST', '/api/campaigns/create', KEYS.ops,
    { name: 'Owners', workflow: 'business-owners', fromNumber: FROM }, 201)).campaign;
  await call('POST', `/api/campaigns/${c.id}/start`, KEYS.ops, {}, 200);
  await call('POST', '/api/test/clock/advance', KEYS.admin, { seconds: 2 }, 200);
  const outbox = await api('/api/sandbox/outbox?limit=1000');
  const map = new Map();
  for (const m of outbox.items) if (m.kind === 'opener') map.set(m.leadId, m.to);
  // A minute on, so that what happens next is recorded later than the openers.
  await call('POST', '/api/test/clock/advance', KEYS.admin, { seconds: 60 }, 200);
  return map;
}

// A SignalHouse MESSAGE_RECEIVED webhook signed as API.md says: lowercase hex HMAC-SHA256 with
// the secret over TIMESTAMP + "." + RAW_BODY, the timestamp in Unix milliseconds.
async function postReply(id, from, text) {
  const body = JSON.stringify({
    event: 'MESSAGE_RECEIVED', identifier: id, timestamp: SIM_START,
    metaData: { Message: { direction: 'INBOUND', senderPhoneNumber: from, recipientPhoneNumber: FROM, messageBody: text } },
  });
  const ts = String(Date.now());
  const signature = createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex');
  const res = await fetch(`${server.base}/api/webhooks/sms-response`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json', 'X-SignalHouse-Timestamp': ts,
      'X-SignalHouse-Signature': signature, 'X-SignalHouse-Delivery-Id': `d-${id}`,
    },
    body,
  });
  const answer = await res.text();
  assert.equal(res.status, 200, answer);
  return JSON.parse(answer);
}

// ---- the browser ---------------------------------------------------------------------------

async function signedIn(role) {
  const context = await browser.newContext({ timezoneId: TIMEZONE, viewport: { width: 1440, height: 960 }, locale: 'en-US' });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // A refused request is logged by the browser as "Failed to load resource": expected here (the
  // sign-in probes for 403s, a test provokes a 400); the banner and dialogs show those.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${server.base}/`);
  await page.getByTestId('signin-key').fill(KEYS[role]);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('role-badge').filter({ hasText: role }).waitFor();
  page.problems = problems;
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

const fmt = (n) => new Intl.NumberFormat('en-US').format(n);
const pct = (f) => `${(f * 100).toFixed(1)}%`;
const FUNNEL = ['raw', 'enriched', 'queued', 'sent', 'delivered', 'responded', 'gold', 'called', 'booked', 'optedOut', 'rejected'];

// What the dashboard shows, read from the page.
async function shownDashboard(page) {
  return page.evaluate((funnel) => {
    const text = (id) => { const el = document.querySelector(`[data-testid="${id}"]`); return el ? el.textContent : null; };
    const out = { funnel: {}, rates: {} };
    for (const k of funnel) out.funnel[k] = text(`funnel-${k}`);
    for (const k of ['response', 'gold', 'booking', 'netPositive']) out.rates[k] = text(`rate-${k}`);
    out.today = {
      smsSent: text('today-sms-used'), smsCap: text('today-sms-limit'),
      skipTraced: text('today-skip-used'), skipTraceLimit: text('today-skip-limit'),
    };
    out.campaigns = [...document.querySelectorAll('[data-testid="campaign"]')].map((c) => ({
      id: c.dataset.campaignId,
      progress: c.querySelector('[data-testid="campaign-progress"]').textContent,
      sent: c.querySelector('[data-testid="campaign-sent"]').textContent,
      batches: c.querySelectorAll('[data-testid="batch"]').length,
      batchesSent: c.querySelectorAll('[data-testid="batch"][data-status="sent"]').length,
    }));
    return out;
  }, FUNNEL);
}

// The dashboard as it should show `o` (GET /api/dashboard/overview).
function expectedDashboard(o) {
  const out = { funnel: {}, rates: {} };
  for (const k of FUNNEL) out.funnel[k] = fmt(o.funnel[k]);
  for (const k of ['response', 'gold', 'booking', 'netPositive']) out.rates[k] = pct(o.rates[k]);
  out.today = {
    smsSent: fmt(o.today.smsSent), smsCap: fmt(o.today.smsCap),
    skipTraced: fmt(o.today.skipTraced), skipTraceLimit: fmt(o.today.skipTraceLimit),
  };
  out.campaigns = o.campaigns.map((c) => ({
    id: c.id,
    progress: `${fmt(c.progress.batchesSent)} of ${fmt(c.progress.batches)}`,
    sent: fmt(c.counts.sent),
    batches: c.blocks.reduce((n, b) => n + b.batches.length, 0),
    batchesSent: c.blocks.reduce((n, b) => n + b.batches.filter((x) => x.status === 'sent').length, 0),
  }));
  return out;
}

// Waits until the page shows exactly what the API answers (the socket pushes at most one
// overview a second), then asserts it, so a mismatch fails with both sides printed.
async function dashboardMatchesApi(page) {
  let shown;
  let expected;
  for (const end = Date.now() + WAIT; Date.now() < end;) {
    expected = expectedDashboard(await api('/api/dashboard/overview'));
    shown = await shownDashboard(page);
    if (JSON.stringify(shown) === JSON.stringify(expected)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(shown, expected);
  return expected;
}

// ---- the tests -----------------------------------------------------------------------------

before(async () => {
  assert.ok(BINARY, 'NEXTIER_BINARY must name the nextier executable');
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  texted = await seed();
  assert.ok(texted.size >= 4, `only ${texted.size} openers went out`);
});

after(async () => {
  if (browser) await browser.close();
  const code = await stopServer();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  assert.equal(code, 0, `nextier serve did not stop cleanly on SIGTERM:\n${server ? server.output() : ''}`);
});

test('sign-in refuses a wrong key and tells the role of a good one', async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 960 } });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  await page.goto(`${server.base}/`);
  await page.getByTestId('signin-key').fill('not-a-key-at-all');
  await page.getByTestId('signin-submit').click();
  await assert.doesNotReject(page.getByTestId('signin-error').filter({ hasText: 'not accepted' }).waitFor());
  await shot(page, 'signin');
  await page.getByTestId('signin-key').fill(KEYS.auditor);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('role-badge').filter({ hasText: 'auditor' }).waitFor();
  // An auditor reads histories only: the other pages are not offered.
  assert.equal(await page.getByTestId('nav-leads').isVisible(), true);
  for (const nav of ['nav-dashboard', 'nav-queue', 'nav-gold', 'nav-datahub']) {
    assert.equal(await page.getByTestId(nav).isVisible(), false, nav);
  }
  // The key is kept for the tab's session only.
  assert.equal(await page.evaluate(() => sessionStorage.getItem('nextier.apiKey')), KEYS.auditor);
  await context.close();
});

let goldLead;
let goldEmail;
let dashboard;  // the ops page left open on the dashboard

test('the dashboard shows the same numbers as GET /api/dashboard/overview', async () => {
  dashboard = await signedIn('ops');
  await dashboard.getByTestId('nav-dashboard').click();
  await dashboard.locator('[data-testid="live-status"][data-state="open"]').waitFor();
  const expected = await dashboardMatchesApi(dashboard);
  // Not a vacuous match: the seeded journey is on it.
  assert.notEqual(expected.funnel.sent, '0');
  assert.equal(expected.campaigns.length, 1);
  assert.ok(expected.campaigns[0].batches > 0);
  await shot(dashboard, 'dashboard');
});

test('a signed webhook changes the funnel and the reply feed without a reload', async () => {
  const page = dashboard;
  await page.evaluate(() => { window.__sameDocument = true; });
  const before = await shownDashboard(page);
  const [lead, phone] = [...texted.entries()][0];
  goldLead = lead;
  goldEmail = 'pat.owner@shop-zero.com';
  const answer = await postReply('in-gold-1', phone, `Sure, write to ${goldEmail}`);
  assert.equal(answer.classification, 'EMAIL');
  assert.equal(answer.goldLabel, true);
  assert.equal(answer.leadId, lead);

  // The reply feed: the new reply on top, as an email, gold.
  const item = page.locator(`[data-testid="reply-item"][data-lead-id="${lead}"][data-classification="EMAIL"]`);
  await item.waitFor();
  assert.equal(await item.getByTestId('reply-gold').count(), 1);
  // The funnel: one more gold and one more responded lead, pushed over the socket.
  const num = (s) => Number(s.replace(/,/g, ''));
  await page.waitForFunction(([g, r]) => {
    const v = (id) => Number(document.querySelector(`[data-testid="${id}"]`).textContent.replace(/,/g, ''));
    return v('funnel-gold') === g && v('funnel-responded') === r;
  }, [num(before.funnel.gold) + 1, num(before.funnel.responded) + 1]);
  await dashboardMatchesApi(page);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
  await shot(page, 'dashboard-live');
});

test('the call queue assigns, completes with a disposition and books a meeting', async () => {
  assert.ok(goldLead, 'needs the gold lead of the webhook test');
  const entry = (await apiUntil('/api/call-queue?status=pending', KEYS.agent,
    (q) => q.items.some((e) => e.leadId === goldLead), 'the gold lead in the call queue'))
    .items.find((e) => e.leadId === goldLead);
  const page = await signedIn('agent');
  await page.getByTestId('nav-queue').click();
  const row = page.locator(`[data-testid="queue-row"][data-entry-id="${entry.id}"]`);
  await row.waitFor();
  assert.equal(await row.getByTestId('queue-email').textContent(), goldEmail);
  assert.equal(await row.getByTestId('queue-phone').textContent(), texted.get(goldLead));

  // Assign to me.
  await row.getByTestId('assign-btn').click();
  await page.locator(`[data-testid="queue-row"][data-entry-id="${entry.id}"][data-status="assigned"]`).waitFor();
  let e = (await api(`/api/call-queue?status=assigned`, KEYS.agent)).items.find((x) => x.id === entry.id);
  assert.equal(e.assignedTo, AGENT_NAME);
  await shot(page, 'queue');

  // Complete as booked: the meeting dialog follows.
  await row.getByTestId('complete-btn').click();
  const complete = page.getByTestId('complete-dialog');
  await complete.getByTestId('disposition-booked').click();
  await complete.getByTestId('complete-notes').fill('wants a valuation');
  await shot(page, 'queue-complete');
  await complete.getByTestId('complete-submit').click();
  const book = page.getByTestId('book-dialog');
  await book.waitFor();
  e = (await api(`/api/call-queue?status=completed`, KEYS.agent)).items.find((x) => x.id === entry.id);
  assert.equal(e.disposition, 'booked');
  assert.equal(e.status, 'completed');

  // A time in the past: the API's refusal is shown in the dialog, in its words.
  await book.getByTestId('book-starts-at').fill('2026-11-01T10:00');
  await book.getByTestId('book-submit').click();
  await book.getByTestId('dialog-error').filter({ hasText: 'in the past' }).waitFor();
  // Tuesday 11:00 in New York is 16:00 UTC.
  await book.getByTestId('book-starts-at').fill('2026-12-01T11:00');
  await book.getByTestId('book-duration').selectOption('30');
  assert.match(await book.getByTestId('book-utc-preview').textContent(), /2026-12-01T16:00:00Z/);
  await shot(page, 'queue-book');
  await book.getByTestId('book-submit').click();
  await book.waitFor({ state: 'detached' });

  const meetings = await api('/api/meetings', KEYS.agent);
  const m = meetings.items.find((x) => x.leadId === goldLead);
  assert.ok(m, JSON.stringify(meetings));
  assert.equal(m.startsAt, '2026-12-01T16:00:00Z');
  assert.equal(m.endsAt, '2026-12-01T16:30:00Z');
  assert.equal(m.agent, AGENT_NAME);
  assert.equal(m.status, 'booked');
  assert.equal((await api(`/api/leads/${goldLead}`)).state, 'booked');
  await page.locator(`[data-testid="meeting-item"][data-lead-id="${goldLead}"]`).waitFor();
  await shot(page, 'queue-booked');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the call queue works from the keyboard alone', async () => {
  const [lead, phone] = [...texted.entries()][1];
  assert.equal((await postReply('in-gold-2', phone, 'mail me: second.owner@shop-one.com')).goldLabel, true);
  const entry = (await apiUntil('/api/call-queue?status=pending', KEYS.agent,
    (q) => q.items.some((e) => e.leadId === lead), 'the second gold lead in the call queue'))
    .items.find((e) => e.leadId === lead);
  const page = await signedIn('agent');
  await page.keyboard.press('q');
  const row = page.locator(`[data-testid="queue-row"][data-entry-id="${entry.id}"]`);
  await row.waitFor();
  // The only open call is selected: a assigns it, c completes it, 2 picks "no answer".
  assert.equal(await row.getAttribute('aria-selected'), 'true');
  await page.keyboard.press('a');
  await page.locator(`[data-testid="queue-row"][data-entry-id="${entry.id}"][data-status="assigned"]`).waitFor();
  await page.keyboard.press('c');
  await page.getByTestId('complete-dialog').waitFor();
  await page.keyboard.press('2');
  await page.keyboard.press('Enter');
  await page.getByTestId('complete-dialog').waitFor({ state: 'detached' });
  const done = (await api('/api/call-queue?status=completed', KEYS.agent)).items.find((x) => x.id === entry.id);
  assert.equal(done.disposition, 'no_answer');
  assert.equal(done.assignedTo, AGENT_NAME);
  // The help lists the keys.
  await page.keyboard.press('?');
  await page.getByTestId('help-dialog').waitFor();
  await page.keyboard.press('Escape');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a lead page shows the profile and the history as a timeline', async () => {
  assert.ok(goldLead);
  const page = await signedIn('agent');
  const lead = await api(`/api/leads/${goldLead}`);
  // By its human LEAD ID, as an agent would type it.
  await page.getByTestId('lead-jump-input').fill(lead.leadId);
  await page.getByTestId('lead-jump-input').press('Enter');
  await page.getByTestId('lead-profile').waitFor();
  assert.equal(await page.getByTestId('lead-email').textContent(), goldEmail);
  assert.equal(await page.getByTestId('lead-state').textContent(), 'Booked');
  assert.equal(await page.getByTestId('lead-human-id').textContent(), lead.leadId);

  const history = await api(`/api/leads/${goldLead}/history`, KEYS.agent);
  const shownTypes = await page.getByTestId('timeline-event').evaluateAll((els) => els.map((e) => e.dataset.type));
  // Newest first; timer bookkeeping hidden until asked for.
  const expected = history.events.map((e) => e.type).filter((t) => !t.startsWith('Timer')).reverse();
  assert.deepEqual(shownTypes, expected);
  for (const t of ['LeadImported', 'LeadEnriched', 'SmsSent', 'ReplyReceived', 'LeadGoldLabeled', 'CallAssigned', 'CallCompleted', 'MeetingBooked']) {
    assert.ok(shownTypes.includes(t), `${t} missing from ${shownTypes}`);
  }
  await shot(page, 'lead');
  await page.getByTestId('history-show-timers').check();
  assert.equal(await page.getByTestId('timeline-event').count(), history.events.length);

  // The state as it was before the reply: sent, without the later events. The picker has whole
  // seconds, so the API is asked for the same whole second.
  const sentAt = history.events.find((e) => e.type === 'SmsSent').at;
  const asOf = new Date(Math.floor(Date.parse(sentAt) / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const local = await page.evaluate((iso) => {
    const d = new Date(iso);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }, asOf);
  await page.getByTestId('history-at').fill(local);
  await page.getByTestId('history-at-form').getByRole('button', { name: 'Show' }).click();
  const past = await api(`/api/leads/${goldLead}/history?at=${encodeURIComponent(asOf)}`, KEYS.agent);
  assert.equal(past.state, 'sent');
  await page.getByTestId('history-at-note').filter({ hasText: 'State as of' }).filter({ hasText: ': Sent' }).waitFor();
  assert.equal(await page.getByTestId('timeline-event').count(), past.events.length);
  assert.ok(past.events.length < history.events.length);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the gold labels page lists the gold lead with its email', async () => {
  const page = await signedIn('agent');
  await page.getByTestId('nav-gold').click();
  const row = page.locator(`[data-testid="gold-row"][data-lead-id="${goldLead}"]`);
  await row.waitFor();
  assert.equal(await row.getByTestId('gold-email').textContent(), goldEmail);
  assert.equal(await row.getByTestId('gold-phone').textContent(), texted.get(goldLead));
  assert.equal(await row.getByTestId('gold-verified').count(), 1);
  const api_ = await api('/api/responses/gold-labels', KEYS.agent);
  assert.equal(await page.getByTestId('gold-row').count(), api_.items.length);
  await shot(page, 'gold');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the data hub uploads a CSV with progress and lists the file with its counts', async () => {
  const page = await signedIn('ops');
  await page.getByTestId('nav-datahub').click();
  await page.getByTestId('files-table').waitFor();
  // 40 new owners, and two already imported: duplicates.
  const csv = ownersCsv(40, 100) + ownersCsv(2, 0).split('\n').slice(1).join('\n');
  await page.getByTestId('upload-file').setInputFiles({ name: 'more-owners.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByTestId('upload-submit').click();
  const result = page.getByTestId('upload-result');
  await result.waitFor();
  assert.equal(await page.getByTestId('upload-progress').evaluate((p) => p.value), 100);

  const files = await api('/api/data-hub/files');
  const f = files.items.find((x) => x.name === 'more-owners.csv');
  assert.ok(f, JSON.stringify(files));
  assert.equal(f.rows, 42);
  assert.equal(f.duplicates, 2);
  for (const k of ['rows', 'imported', 'duplicates', 'rejected', 'entities']) {
    assert.equal(await result.getByTestId(`upload-${k}`).textContent(), fmt(f[k]), k);
  }
  const row = page.locator(`[data-testid="file-row"][data-file-id="${f.id}"]`);
  await row.waitFor();
  assert.equal(await row.getByTestId('file-name').textContent(), 'more-owners.csv');
  for (const k of ['rows', 'imported', 'duplicates', 'rejected', 'entities']) {
    assert.equal(await row.getByTestId(`file-${k}`).textContent(), fmt(f[k]), k);
  }
  assert.equal(await page.getByTestId('file-row').count(), files.items.length);
  await row.click();
  await page.getByTestId('file-detail').waitFor();
  await shot(page, 'data-hub');
  assert.deepEqual(page.problems, []);

  // The leads list shows them.
  await page.getByTestId('nav-leads').click();
  await page.getByTestId('lead-row').first().waitFor();
  await shot(page, 'leads');
  await page.context().close();
});

test('the open dashboard stayed live and error-free through all of it', async () => {
  await dashboardMatchesApi(dashboard);
  assert.equal(await dashboard.evaluate(() => window.__sameDocument), true);
  await shot(dashboard, 'dashboard-final');
  assert.deepEqual(dashboard.problems, []);
  await dashboard.context().close();
});
