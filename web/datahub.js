// Data hub: upload a CSV (the body itself, Content-Type text/csv, with the bytes sent shown as
// they go; the server answers once the rows are durably imported) and the uploaded files with
// their counts; a file's header mapping and first errors on demand.
import { get, query, uploadCsv } from './api.js';
import { busy, empty, fill, h, humanize, num, pageHeader, pill, showError, timeEl, toast, whenLong } from './util.js';

const SOURCES = [
  ['', 'Detect from the header'],
  ['usbizdata', 'USBizData'],
  ['apollo', 'Apollo'],
  ['property', 'Property list'],
  ['generic', 'Generic'],
];
const SOURCE_LABEL = Object.fromEntries(SOURCES.filter(([v]) => v));
const COUNTS = [
  ['rows', 'Rows'],
  ['imported', 'Imported'],
  ['duplicates', 'Duplicates'],
  ['rejected', 'Rejected'],
  ['entities', 'Entities'],
];

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

function countsLine(f) {
  return h('dl', { class: 'counts', testid: 'upload-counts' }, COUNTS.map(([k, label]) =>
    h('div', {}, h('dt', {}, label), h('dd', { testid: `upload-${k}` }, num(f[k])))));
}

export async function render(main) {
  main.append(pageHeader('Data hub'));

  // ---- upload ----
  const fileInput = h('input', { type: 'file', accept: '.csv,text/csv', testid: 'upload-file', class: 'sr-only', id: 'upload-file' });
  const chosen = h('span', { class: 'drop-chosen', testid: 'upload-chosen' }, 'No file chosen');
  const drop = h('label', { class: 'drop', for: 'upload-file', testid: 'upload-drop', tabindex: '-1' },
    h('span', { class: 'drop-title' }, 'Drop a CSV here, or ', h('u', {}, 'choose a file')), chosen);
  const source = h('select', { testid: 'upload-source' }, SOURCES.map(([v, t]) => h('option', { value: v }, t)));
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', testid: 'upload-submit', disabled: true }, 'Upload');
  const progress = h('progress', { max: 100, value: 0, testid: 'upload-progress' });
  const progressText = h('span', { class: 'small', testid: 'upload-progress-text' });
  const progressBox = h('div', { class: 'upload-progress', hidden: true }, progress, progressText);
  const result = h('div', { class: 'upload-result', testid: 'upload-result', hidden: true, 'aria-live': 'polite' });
  let file = null;

  const choose = (f) => {
    file = f || null;
    chosen.textContent = file ? `${file.name} · ${bytes(file.size)}` : 'No file chosen';
    submit.disabled = !file;
    result.hidden = true;
  };
  fileInput.addEventListener('change', () => choose(fileInput.files[0]));
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('drag'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('drag'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('drag');
    if (ev.dataTransfer.files.length) choose(ev.dataTransfer.files[0]);
  });

  const form = h('form', { class: 'upload', testid: 'upload-form' },
    fileInput, drop,
    h('div', { class: 'upload-row' }, h('label', {}, 'Format ', source), submit),
    progressBox, result);
  form.addEventListener('submit', busy(submit, async () => {
    if (!file) return;
    result.hidden = true;
    progressBox.hidden = false;
    progress.value = 0;
    progress.max = 100;
    progressText.textContent = `Sending ${file.name}…`;
    try {
      const res = await uploadCsv(file, { name: file.name, source: source.value }, {
        onProgress(sent, total) {
          const f = total > 0 ? sent / total : 0;
          progress.value = Math.round(f * 100);
          progressText.textContent = `Sending ${bytes(sent)} of ${bytes(total)} (${Math.round(f * 100)}%)`;
        },
        onSent() {
          progress.removeAttribute('value');  // indeterminate: the server is importing
          progressText.textContent = 'Sent. Importing: cleaning, deduplicating and storing the rows…';
        },
      });
      const f = res.file;
      progress.max = 100;
      progress.value = 100;
      progressText.textContent = `Done: ${f.name}`;
      fill(result, h('p', {}, h('strong', {}, f.name), ' ', pill(f.status),
        ` ${num(f.imported)} of ${num(f.rows)} rows imported.`), countsLine(f),
      (f.errors || []).length ? h('p', { class: 'muted small' }, `First problem: row ${f.errors[0].row}: ${f.errors[0].reason}`) : null);
      result.hidden = false;
      toast(`Imported ${num(f.imported)} leads from ${f.name}`);
      fileInput.value = '';
      file = null;
      submit.disabled = true;
      chosen.textContent = 'No file chosen';
      await loadFiles(f.id);
    } catch (err) {
      progressBox.hidden = true;
      showError(`Could not upload ${file.name}`, err);
    }
  }));

  main.append(h('section', { class: 'card' }, h('h2', {}, 'Upload leads'),
    h('p', { class: 'muted small' }, 'USBizData, Apollo, property lists or any CSV with names and addresses. Duplicates of leads already known are recorded, not imported twice.'),
    form));

  // ---- files ----
  const body = h('tbody');
  const filesCard = h('section', { class: 'card' }, h('h2', {}, 'Files'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'files-table' },
      h('thead', {}, h('tr', {}, ['File', 'Format', 'Status', ...COUNTS.map(([, l]) => l), 'Uploaded', 'Finished'].map((t) =>
        h('th', { class: ['Rows', 'Imported', 'Duplicates', 'Rejected', 'Entities'].includes(t) ? 'num' : '' }, t)))),
      body)));
  main.append(filesCard);

  const details = async (f, tr) => {
    const next = tr.nextElementSibling;
    if (next && next.classList.contains('detail-row')) {
      next.remove();
      tr.setAttribute('aria-expanded', 'false');
      return;
    }
    tr.setAttribute('aria-expanded', 'true');
    const cell = h('td', { colspan: 10 }, h('p', { class: 'muted' }, 'Loading…'));
    tr.after(h('tr', { class: 'detail-row', testid: 'file-detail' }, cell));
    try {
      const d = await get(`/api/data-hub/files/${encodeURIComponent(f.id)}`);
      const mapping = Object.entries(d.mapping || {});
      fill(cell, h('div', { class: 'detail-grid' },
        h('div', {}, h('h3', {}, 'Columns'), mapping.length === 0 ? empty('No mapping recorded.')
          : h('table', { class: 'table compact' }, h('tbody', {}, mapping.map(([col, field]) =>
            h('tr', {}, h('td', {}, col), h('td', { class: 'muted' }, '→'), h('td', {}, field || h('span', { class: 'muted' }, 'ignored'))))))),
        h('div', {}, h('h3', {}, `Problems${(d.errors || []).length ? ` (first ${d.errors.length})` : ''}`),
          (d.errors || []).length === 0 ? empty('None.')
            : h('table', { class: 'table compact' }, h('tbody', {}, d.errors.map((e) =>
              h('tr', {}, h('td', { class: 'num' }, `row ${e.row}`), h('td', {}, e.reason))))),
          d.reason ? h('p', { class: 'form-error' }, d.reason) : null,
          h('p', { class: 'muted small mono' }, d.id))));
    } catch (err) {
      fill(cell, empty(`Could not load the details: ${err.describe ? err.describe() : err.message}`));
    }
  };

  const loadFiles = async (highlight) => {
    let items = [];
    try {
      let cursor = null;
      for (let page = 0; page < 5; ++page) {
        const res = await get(`/api/data-hub/files${query({ limit: 1000, cursor })}`);
        items = items.concat(res.items || []);
        if (!res.next) break;
        cursor = res.next;
      }
    } catch (err) {
      showError('Could not list the files', err);
      return;
    }
    items.reverse();  // newest first
    fill(body, items.length === 0 ? h('tr', {}, h('td', { colspan: 10 }, empty('No files yet.'))) : items.map((f) => {
      const tr = h('tr', {
        testid: 'file-row', dataset: { fileId: f.id }, tabindex: 0, class: `clickable${f.id === highlight ? ' fresh' : ''}`,
        'aria-expanded': 'false', title: 'Show the column mapping and problems',
      },
      h('td', {}, h('strong', { testid: 'file-name' }, f.name)),
      h('td', {}, SOURCE_LABEL[f.source] || humanize(f.source)),
      h('td', {}, pill(f.status, 'file-status'), f.reason ? h('div', { class: 'small form-error' }, f.reason) : null),
      COUNTS.map(([k]) => h('td', { class: 'num', testid: `file-${k}` }, num(f[k]))),
      h('td', { class: 'nowrap' }, timeEl(f.createdAt, whenLong)),
      h('td', { class: 'nowrap' }, timeEl(f.finishedAt, whenLong)));
      tr.addEventListener('click', () => details(f, tr));
      tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); details(f, tr); } });
      return tr;
    }));
  };
  await loadFiles();
  return undefined;
}
