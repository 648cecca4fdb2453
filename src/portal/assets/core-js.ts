/**
 * Shared browser code for every page (served as /assets/core.js): the API
 * client that sends the CSRF token, DOM helpers that only ever set text (never
 * HTML), formatting, copy buttons and sign-out. Plain ES2020, no build step;
 * written without template literals so it can live in this TypeScript string.
 */
export const CORE_JS = String.raw`
const csrfMeta = document.querySelector('meta[name="grantd-csrf"]');
const CSRF = csrfMeta ? csrfMeta.getAttribute('content') : '';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the portal API; state changes carry the session's CSRF token. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET') headers['X-Grantd-CSRF'] = CSRF;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, 'network', 'grantd did not answer. Is the daemon still running?');
  }
  if (res.status === 401) {
    // The session ended (idle, sign-out, daemon restart): the page itself now asks to sign in.
    window.location.reload();
    throw new ApiError(401, 'signed_out', 'Signed out.');
  }
  let data = null;
  if ((res.headers.get('content-type') || '').indexOf('application/json') === 0) data = await res.json();
  if (!res.ok) {
    const error = data && data.error ? data.error : {};
    throw new ApiError(res.status, error.code || 'error', error.message || 'The request failed (' + res.status + ').');
  }
  return data;
}

/** An element with properties (text, className, attributes, on* listeners) and children. */
export function el(tag, props, children) {
  const node = document.createElement(tag);
  setProps(node, props);
  append(node, children);
  return node;
}

function setProps(node, props) {
  if (!props) return;
  for (const name of Object.keys(props)) {
    const value = props[name];
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else if (name === 'className') node.setAttribute('class', value);
    else if (name.slice(0, 2) === 'on') node.addEventListener(name.slice(2).toLowerCase(), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(node, children) {
  for (const child of [].concat(children === undefined ? [] : children)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'object' ? child : String(child));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function $(id) {
  return document.getElementById(id);
}

/** Shows a message in the page's status line; errors stand out. */
export function say(text, kind) {
  const node = $('status');
  if (!node) return;
  node.textContent = text;
  node.className = 'status' + (kind ? ' ' + kind : '');
}

export function fail(error) {
  say(error && error.message ? error.message : String(error), 'error');
}

function pad(n) {
  return n < 10 ? '0' + n : String(n);
}

/** Local date and time to the second, or a dash. */
export function formatTime(iso) {
  if (!iso) return '\u2013';
  const d = new Date(iso);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
    pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

/** How long ago, in words. */
export function ago(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}

/** A time element: relative text, the exact time on hover and for assistive tech. */
export function timeAgo(iso) {
  if (!iso) return el('span', { className: 'quiet-text', text: 'never' });
  return el('time', { datetime: iso, title: formatTime(iso), text: ago(iso) });
}

export function badge(text, kind) {
  return el('span', { className: 'badge ' + (kind || 'muted'), text: text });
}

export function cell(content, className) {
  return el('td', { className: className }, content);
}

/** Replaces a table body's rows and shows the empty note when there are none. */
export function fillRows(tbody, rows, emptyNote) {
  clear(tbody);
  for (const row of rows) tbody.append(row);
  if (emptyNote) emptyNote.hidden = rows.length > 0;
}

/** Sets a select's options, keeping the chosen value when it is still there. */
export function setOptions(select, options, keep) {
  const previous = keep === false ? '' : select.value;
  const fixed = Array.prototype.filter.call(select.options, function (o) { return o.dataset.fixed === '1'; });
  clear(select);
  for (const option of fixed) select.append(option);
  for (const option of options) select.append(el('option', { value: option.value, text: option.label }));
  if (Array.prototype.some.call(select.options, function (o) { return o.value === previous; })) select.value = previous;
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellWord(text) {
  return /^[A-Za-z0-9_.,:\/=@+-]+$/.test(text) ? text : "'" + text.replace(/'/g, "'\\''") + "'";
}

// Copy buttons: data-copy names the input whose value they copy.
document.addEventListener('click', function (event) {
  const button = event.target.closest ? event.target.closest('[data-copy]') : null;
  if (!button) return;
  const input = $(button.getAttribute('data-copy'));
  if (!input || !input.value) return;
  const label = button.textContent;
  const done = function () {
    button.textContent = 'Copied';
    setTimeout(function () { button.textContent = label; }, 1500);
  };
  const fallback = function () {
    input.focus();
    input.select();
    try { document.execCommand('copy'); done(); } catch (error) { say('Select the text and copy it by hand.', 'error'); }
  };
  if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(input.value).then(done, fallback);
  else fallback();
});

// Fixed options (like "Any app") are marked, so setOptions keeps them.
for (const option of document.querySelectorAll('select option[value=""]')) option.dataset.fixed = '1';

const logout = $('logout');
if (logout) {
  logout.addEventListener('click', function () {
    api('POST', '/api/logout').then(function () { window.location.assign('/'); }, fail);
  });
}
`;
