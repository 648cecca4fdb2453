/** The providers page's script (/assets/providers.js): the catalog, searchable. */
export const PROVIDERS_JS = String.raw`
import { $, api, badge, cell, el, fail, fillRows, say } from './core.js';

let providers = [];

function clientState(p) {
  if (p.client_configured === null) return el('span', { className: 'quiet-text', text: 'not needed' });
  return p.client_configured ? badge('configured', 'ok') : badge('not configured', 'muted');
}

function row(p) {
  const name = p.docs && /^https:\/\//.test(p.docs) ? el('a', { href: p.docs, rel: 'noreferrer', text: p.name }) : p.name;
  return el('tr', { 'data-provider': p.id }, [
    el('th', { scope: 'row' }, [name, el('br'), el('code', { text: p.id })]),
    cell(p.builtin ? 'built-in' : 'config'),
    cell(p.auth),
    cell(clientState(p)),
    cell(p.hosts.join(', '), 'request'),
    cell(el('code', { text: p.inject })),
    cell(String(p.grants), 'num'),
  ]);
}

function draw() {
  const text = $('p-search').value.trim().toLowerCase();
  const custom = $('p-custom').checked;
  const used = $('p-used').checked;
  const shown = providers.filter(function (p) {
    if (custom && p.builtin) return false;
    if (used && p.grants === 0) return false;
    if (!text) return true;
    return (p.id + ' ' + p.name + ' ' + p.hosts.join(' ')).toLowerCase().indexOf(text) !== -1;
  });
  fillRows($('providers-table').tBodies[0], shown.map(row));
  const configured = providers.filter(function (p) { return p.client_configured; }).length;
  say(shown.length + ' of ' + providers.length + ' providers shown; ' + configured + ' with an OAuth client configured.');
}

async function load() {
  try {
    providers = (await api('GET', '/api/providers')).providers;
    draw();
  } catch (error) {
    fail(error);
  }
}

for (const id of ['p-search', 'p-custom', 'p-used']) $(id).addEventListener('input', draw);
$('provider-filter').addEventListener('submit', function (event) { event.preventDefault(); draw(); });
load();
`;
