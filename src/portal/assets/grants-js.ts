/** The grants page's script (/assets/grants.js): the list, the static form, the connect command. */
export const GRANTS_JS = String.raw`
import { $, api, badge, cell, clear, el, fail, fillRows, say, setOptions, shellWord, timeAgo } from './core.js';

let providers = [];
let grants = [];

function providerLabel(p) {
  return p.name + ' (' + p.id + ')';
}

function grantRow(grant) {
  const status = grant.status === 'active' ? badge('active', 'ok') : badge('needs reconnect', 'err');
  const revoke = el('button', {
    type: 'button', className: 'small danger', text: 'Revoke',
    'aria-label': 'Revoke grant ' + (grant.alias || grant.id) + ' of app ' + grant.app,
    onclick: function () { revokeGrant(grant); },
  });
  const reconnect = grant.status === 'needs_reauth' && grant.reconnect
    ? el('button', { type: 'button', className: 'small', text: 'Reconnect', onclick: function () { showConnect(grant); } })
    : null;
  return el('tr', { 'data-grant': grant.id }, [
    cell(grant.app),
    cell(grant.provider_name),
    el('th', { scope: 'row', text: grant.alias || '\u2013' }),
    cell(grant.principal || '\u2013'),
    cell(grant.kind === 'oauth' ? 'OAuth' : 'static'),
    cell(status),
    cell(timeAgo(grant.last_used_at), 'nowrap'),
    cell(el('code', { text: grant.id })),
    cell([reconnect, revoke], 'actions'),
  ]);
}

function drawGrants() {
  const app = $('grants-app').value;
  const shown = grants.filter(function (g) { return !app || g.app === app; });
  const rows = [];
  let group = null;
  for (const grant of shown) {
    if (grant.app !== group) {
      group = grant.app;
      rows.push(el('tr', { className: 'group' }, el('td', { colspan: '9', text: 'App ' + group })));
    }
    rows.push(grantRow(grant));
  }
  fillRows($('grants-table').tBodies[0], rows, $('grants-empty'));
  $('grants-empty').hidden = shown.length > 0;
}

async function load() {
  try {
    const results = await Promise.all([api('GET', '/api/apps'), api('GET', '/api/providers'), api('GET', '/api/grants')]);
    const apps = results[0].apps.map(function (a) { return { value: a.name, label: a.name }; });
    providers = results[1].providers.slice().sort(function (a, b) { return a.name.localeCompare(b.name); });
    grants = results[2].grants;
    setOptions($('grants-app'), apps);
    setOptions($('add-app'), apps);
    setOptions($('connect-app'), apps);
    setOptions($('add-provider'), providers.map(function (p) { return { value: p.id, label: providerLabel(p) }; }));
    const oauth = providers.filter(function (p) { return p.oauth; });
    setOptions($('connect-provider'), oauth.map(function (p) {
      return { value: p.id, label: providerLabel(p) + (p.client_configured ? '' : ' \u2013 no client') };
    }));
    drawGrants();
    drawParams();
    drawCommand();
  } catch (error) {
    fail(error);
  }
}

function selectedProvider(id) {
  return providers.find(function (p) { return p.id === id; });
}

/** An input per provider param (a shop, a subdomain), labelled with its description. */
function drawParams() {
  const box = $('add-params');
  clear(box);
  const provider = selectedProvider($('add-provider').value);
  if (!provider) return;
  for (const param of provider.params) {
    const id = 'param-' + param.name;
    box.append(el('div', { className: 'field' }, [
      el('label', { for: id }, [param.name, param.required ? '' : el('span', { className: 'opt', text: ' (optional)' })]),
      el('input', { id: id, 'data-param': param.name, required: param.required, spellcheck: 'false' }),
      el('p', { className: 'hint', text: param.description }),
    ]));
  }
}

async function revokeGrant(grant) {
  const name = grant.alias || grant.id;
  if (!window.confirm('Revoke grant ' + name + ' of app ' + grant.app + '? Its secret is deleted from the vault.')) return;
  try {
    await api('DELETE', '/api/grants/' + encodeURIComponent(grant.id));
    say('Revoked grant ' + name + '; it stops working on the next request.', 'done');
    await load();
  } catch (error) {
    fail(error);
  }
}

$('grants-app').addEventListener('change', drawGrants);
$('add-provider').addEventListener('change', drawParams);

$('add-grant').addEventListener('submit', async function (event) {
  event.preventDefault();
  const form = event.target;
  const params = {};
  for (const input of form.querySelectorAll('[data-param]')) params[input.getAttribute('data-param')] = input.value;
  const body = {
    app: $('add-app').value,
    provider: $('add-provider').value,
    alias: $('add-alias').value,
    principal: $('add-principal').value,
    token: $('add-token').value,
    params: params,
    methods: $('add-methods').value,
    paths: $('add-paths').value,
  };
  if (!body.app) { say('Create an app first, on the Apps page.', 'error'); return; }
  if (!body.token.trim()) { say('Paste the token to store.', 'error'); $('add-token').focus(); return; }
  try {
    const result = await api('POST', '/api/grants', body);
    // The token leaves the page with the request; the field is wiped at once.
    $('add-token').value = '';
    $('add-alias').value = '';
    $('add-principal').value = '';
    const grant = result.grant;
    say('Added ' + grant.provider_name + ' grant ' + (grant.alias || grant.id) + ' for app ' + grant.app +
      '. Apps select it with the header Grantd-Grant: ' + (grant.alias || grant.id), 'done');
    await load();
  } catch (error) {
    fail(error);
  }
});

/** The exact grantd connect command for the form's choices. */
function drawCommand() {
  const app = $('connect-app').value;
  const provider = selectedProvider($('connect-provider').value);
  const alias = $('connect-alias').value.trim();
  const scopes = $('connect-scopes').value.trim();
  const note = $('connect-client');
  if (!app || !provider) {
    $('connect-command').value = '';
    note.hidden = true;
    return;
  }
  let command = 'grantd connect ' + provider.id + ' --app ' + shellWord(app);
  if (alias) command += ' --alias ' + shellWord(alias);
  if (scopes) command += ' --scopes ' + shellWord(scopes);
  for (const param of provider.params) if (param.required) command += ' --param ' + param.name + '=VALUE';
  $('connect-command').value = command;
  note.hidden = provider.client_configured;
  note.textContent = provider.client_configured ? '' : provider.name + ' has no OAuth client configured yet: register an OAuth app with ' +
    provider.name + ' (redirect URI http://127.0.0.1/callback), set providers.' + provider.id +
    '.client_id and client_secret in the config, and reload grantd (SIGHUP) before connecting.';
}

function showConnect(grant) {
  $('connect-app').value = grant.app;
  $('connect-provider').value = grant.provider;
  $('connect-alias').value = grant.alias || '';
  drawCommand();
  $('connect-command').focus();
  say('Run the command to reconnect ' + (grant.alias || grant.id) + ' in place.');
}

for (const id of ['connect-app', 'connect-provider', 'connect-alias', 'connect-scopes']) {
  $(id).addEventListener('input', drawCommand);
  $(id).addEventListener('change', drawCommand);
}
$('connect').addEventListener('submit', function (event) { event.preventDefault(); drawCommand(); });

load();
`;
