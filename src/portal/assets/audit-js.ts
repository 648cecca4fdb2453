/** The audit page's script (/assets/audit.js): filters, live tail, row details, export links. */
export const AUDIT_JS = String.raw`
import { $, api, clear, el, fail, formatTime, say, setOptions } from './core.js';

const POLL_MS = 1000;
const PAGE = 200;
const MAX_ROWS = 2000;
const FIELDS = ['range', 'from', 'to', 'app', 'grant', 'provider', 'status', 'outcome'];

const tbody = $('audit-table').tBodies[0];
let rows = [];
let newest = 0;
let polling = false;
let generation = 0;
let grantAliases = {};

/** The filter as query parameters, from the form. */
function filterParams() {
  const q = new URLSearchParams();
  const range = $('f-range').value;
  if (range === 'custom') {
    const from = $('f-from').value;
    const to = $('f-to').value;
    if (from) q.set('since', String(new Date(from).getTime()));
    if (to) q.set('until', String(new Date(to).getTime()));
  } else if (range !== 'all') {
    q.set('since', range);
  }
  for (const name of ['app', 'grant', 'provider', 'status', 'outcome']) {
    const value = $('f-' + name).value.trim();
    if (value) q.set(name, value);
  }
  return q;
}

/** The form's state in the page URL, so a reload or a shared link keeps the filter. */
function saveToUrl() {
  const q = new URLSearchParams();
  for (const name of FIELDS) {
    const value = $('f-' + name).value.trim();
    if (value && !(name === 'range' && value === '24h')) q.set(name, value);
  }
  const text = q.toString();
  history.replaceState(null, '', text ? '/audit?' + text : '/audit');
}

function loadFromUrl() {
  const q = new URLSearchParams(window.location.search);
  for (const name of FIELDS) {
    const value = q.get(name);
    if (value === null) continue;
    const input = $('f-' + name);
    if (input.tagName === 'SELECT' && !Array.prototype.some.call(input.options, function (o) { return o.value === value; })) {
      input.append(el('option', { value: value, text: value }));
    }
    input.value = value;
  }
  showCustom();
}

function showCustom() {
  const custom = $('f-range').value === 'custom';
  for (const node of document.querySelectorAll('.custom-range')) node.hidden = !custom;
}

function statusClass(row) {
  if (row.outcome !== 'ok' || row.status >= 500 || row.status === 0) return 'badge err';
  if (row.status >= 400) return 'badge err';
  return 'badge ok';
}

/** A grant's alias where it has one (the id on hover and in the details), else its id. */
function grantCell(id) {
  if (!id) return el('td', { text: '\u2013' });
  const alias = grantAliases[id];
  return el('td', { title: id }, alias ? alias : el('code', { text: id }));
}

function rowFor(row, fresh) {
  const open = el('button', { type: 'button', className: 'link', 'aria-haspopup': 'dialog', text: formatTime(row.time), onclick: function () { showDetail(row); } });
  return el('tr', { className: fresh ? 'fresh' : null, 'data-seq': row.seq, 'data-status': row.status }, [
    el('td', { className: 'nowrap' }, open),
    el('td', { text: row.app || '\u2013' }),
    grantCell(row.grant_id),
    el('td', { text: row.provider || '\u2013' }),
    el('td', { className: 'request' }, [el('span', { className: 'mono', text: row.method + ' ' + row.host + row.path })]),
    el('td', {}, el('span', { className: statusClass(row), text: String(row.status) })),
    el('td', { text: row.outcome }),
    el('td', { className: 'num', text: String(Math.round(row.duration_ms)) }),
  ]);
}

function describe() {
  const live = $('live').checked && !hasEnd();
  say(rows.length === 0 ? '' : 'Showing ' + rows.length + (rows.length === 1 ? ' row' : ' rows') + ', newest first' + (live ? '; live.' : '.'));
  $('audit-empty').hidden = rows.length > 0;
}

function hasEnd() {
  return $('f-range').value === 'custom' && $('f-to').value !== '';
}

function updateExports() {
  const q = filterParams();
  q.set('format', 'csv');
  $('export-csv').href = '/api/audit/export?' + q.toString();
  q.set('format', 'jsonl');
  $('export-jsonl').href = '/api/audit/export?' + q.toString();
}

/** Loads the newest page for the filter, replacing the table. */
async function load() {
  const mine = ++generation;
  const q = filterParams();
  q.set('limit', String(PAGE));
  let data;
  try {
    data = await api('GET', '/api/audit?' + q.toString());
  } catch (error) {
    fail(error);
    return;
  }
  await choices;
  if (mine !== generation) return;
  rows = data.rows;
  newest = rows.length > 0 ? rows[0].seq : newest;
  clear(tbody);
  for (const row of rows) tbody.append(rowFor(row, false));
  $('older').hidden = !data.more;
  describe();
}

/** The live tail: rows newer than the newest shown, at the top, without reloading. */
async function poll() {
  if (polling || document.hidden || !$('live').checked || hasEnd()) return;
  polling = true;
  const mine = generation;
  try {
    const q = filterParams();
    q.set('after', String(newest));
    q.set('limit', String(PAGE));
    const data = await api('GET', '/api/audit?' + q.toString());
    if (mine !== generation || data.rows.length === 0) return;
    newest = data.rows[0].seq;
    const first = tbody.firstChild;
    for (const row of data.rows) tbody.insertBefore(rowFor(row, true), first);
    rows = data.rows.concat(rows);
    while (rows.length > MAX_ROWS) {
      rows.pop();
      tbody.removeChild(tbody.lastChild);
    }
    describe();
  } catch (error) {
    fail(error);
  } finally {
    polling = false;
  }
}

async function loadOlder() {
  if (rows.length === 0) return;
  const q = filterParams();
  q.set('before', String(rows[rows.length - 1].seq));
  q.set('limit', String(PAGE));
  try {
    const data = await api('GET', '/api/audit?' + q.toString());
    for (const row of data.rows) tbody.append(rowFor(row, false));
    rows = rows.concat(data.rows);
    $('older').hidden = !data.more;
    describe();
  } catch (error) {
    fail(error);
  }
}

const LABELS = {
  time: 'Time', request_id: 'Request id', app: 'App', key_id: 'Key id', grant_id: 'Grant id',
  provider: 'Provider', principal: 'Principal', method: 'Method', host: 'Host', path: 'Path',
  status: 'Status', outcome: 'Outcome', refreshed: 'Token refreshed', duration_ms: 'Duration (ms)',
  bytes_in: 'Bytes sent upstream', bytes_out: 'Bytes returned',
};

function showDetail(row) {
  const list = $('detail-fields');
  clear(list);
  for (const name of Object.keys(LABELS)) {
    let value = row[name];
    if (name === 'time') value = formatTime(value) + ' (' + value + ')';
    if (name === 'refreshed') value = value ? 'yes' : 'no';
    list.append(el('dt', { text: LABELS[name] }));
    list.append(el('dd', {}, el('code', { text: value === null || value === undefined ? '\u2013' : String(value) })));
  }
  $('detail').showModal();
  $('detail-close').focus();
}

$('detail-close').addEventListener('click', function () { $('detail').close(); });

async function loadChoices() {
  try {
    const results = await Promise.all([api('GET', '/api/apps'), api('GET', '/api/grants'), api('GET', '/api/providers')]);
    setOptions($('f-app'), results[0].apps.map(function (a) { return { value: a.name, label: a.name }; }));
    for (const g of results[1].grants) if (g.alias) grantAliases[g.id] = g.alias;
    setOptions($('f-grant'), results[1].grants.map(function (g) {
      return { value: g.id, label: (g.alias ? g.alias + ' \u2013 ' : '') + g.app + ', ' + g.provider + ' (' + g.id + ')' };
    }));
    const used = results[2].providers.filter(function (p) { return p.grants > 0; });
    const rest = results[2].providers.filter(function (p) { return p.grants === 0; });
    setOptions($('f-provider'), used.concat(rest).map(function (p) { return { value: p.id, label: p.name + ' (' + p.id + ')' }; }));
  } catch (error) {
    fail(error);
  }
}

$('filters').addEventListener('submit', function (event) {
  event.preventDefault();
  saveToUrl();
  updateExports();
  load();
});
$('f-range').addEventListener('change', showCustom);
$('f-reset').addEventListener('click', function () {
  for (const name of FIELDS) $('f-' + name).value = name === 'range' ? '24h' : '';
  showCustom();
  saveToUrl();
  updateExports();
  load();
});
$('live').addEventListener('change', describe);
$('older').addEventListener('click', loadOlder);

loadFromUrl();
updateExports();
// Rows wait for the choices, so grant aliases are known when they are drawn.
const choices = loadChoices().then(loadFromUrl);
load();
setInterval(poll, POLL_MS);
`;
