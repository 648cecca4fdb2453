/** The apps page's script (/assets/apps.js): apps, keys, the one-time view of a new key. */
export const APPS_JS = String.raw`
import { $, api, badge, cell, el, fail, fillRows, formatTime, say, timeAgo } from './core.js';

const minted = $('minted');

/** Shows a new key once. Nothing keeps it: Done (or leaving) wipes the inputs. */
function showMinted(result) {
  $('minted-app').textContent = result.app;
  $('minted-key').value = result.key;
  $('minted-proxy').value = 'HTTPS_PROXY=' + result.proxy_url;
  minted.hidden = false;
  minted.focus();
}

function forgetMinted() {
  $('minted-key').value = '';
  $('minted-proxy').value = '';
  minted.hidden = true;
}

$('minted-done').addEventListener('click', function () {
  forgetMinted();
  say('The key is no longer shown anywhere.');
});
window.addEventListener('pagehide', forgetMinted);

function appRow(app) {
  const mint = el('button', { type: 'button', className: 'small', text: 'Mint key', 'aria-label': 'Mint a key for ' + app.name, onclick: function () { mintKey(app.name); } });
  const remove = el('button', { type: 'button', className: 'small danger', text: 'Delete', 'aria-label': 'Delete app ' + app.name, onclick: function () { deleteApp(app); } });
  return el('tr', { 'data-app': app.name }, [
    el('th', { scope: 'row', text: app.name }),
    cell(String(app.keys), 'num'),
    cell(String(app.grants), 'num'),
    cell(timeAgo(app.last_used_at), 'nowrap'),
    cell(formatTime(app.created_at), 'nowrap'),
    cell(el('code', { text: app.id })),
    cell([mint, remove], 'actions'),
  ]);
}

function keyRow(key) {
  const status = key.revoked_at ? badge('revoked ' + formatTime(key.revoked_at), 'err') : badge('active', 'ok');
  const actions = key.revoked_at ? [] : [el('button', { type: 'button', className: 'small danger', text: 'Revoke', 'aria-label': 'Revoke key ' + key.id, onclick: function () { revokeKey(key); } })];
  return el('tr', { 'data-key': key.id }, [
    el('th', { scope: 'row' }, el('code', { text: key.id })),
    cell(key.app),
    cell(formatTime(key.created_at), 'nowrap'),
    cell(timeAgo(key.last_used_at), 'nowrap'),
    cell(status),
    cell(actions, 'actions'),
  ]);
}

async function load() {
  try {
    const results = await Promise.all([api('GET', '/api/apps'), api('GET', '/api/keys')]);
    fillRows($('apps-table').tBodies[0], results[0].apps.map(appRow), $('apps-empty'));
    const keys = results[1].keys.slice().reverse();
    fillRows($('keys-table').tBodies[0], keys.map(keyRow), $('keys-empty'));
  } catch (error) {
    fail(error);
  }
}

async function mintKey(name) {
  try {
    const result = await api('POST', '/api/apps/' + encodeURIComponent(name) + '/keys');
    showMinted(result);
    say('Minted ' + result.id + ' for app ' + name + '.', 'done');
    await load();
  } catch (error) {
    fail(error);
  }
}

async function deleteApp(app) {
  if (!window.confirm('Delete app ' + app.name + ' with its keys and ' + app.grants + ' grant(s)? Their secrets are deleted from the vault.')) return;
  try {
    await api('DELETE', '/api/apps/' + encodeURIComponent(app.name));
    say('Deleted app ' + app.name + '.', 'done');
    await load();
  } catch (error) {
    fail(error);
  }
}

async function revokeKey(key) {
  if (!window.confirm('Revoke key ' + key.id + ' of app ' + key.app + '? It stops working on the next request.')) return;
  try {
    await api('POST', '/api/keys/' + encodeURIComponent(key.id) + '/revoke');
    say('Revoked ' + key.id + '; it stops working on the next request.', 'done');
    await load();
  } catch (error) {
    fail(error);
  }
}

$('create-app').addEventListener('submit', async function (event) {
  event.preventDefault();
  const input = $('app-name');
  const name = input.value.trim();
  if (!/^[a-z0-9][a-z0-9_.-]{0,62}$/.test(name)) {
    say('App names use lower-case letters, digits, ., _ and -, starting with a letter or digit.', 'error');
    input.focus();
    return;
  }
  try {
    await api('POST', '/api/apps', { name: name });
    input.value = '';
    say('Created app ' + name + '. Mint a key for it below.', 'done');
    await load();
  } catch (error) {
    fail(error);
  }
});

load();
`;
