/** The overview page's script (/assets/overview.js): totals, two SVG bar charts, the CA. */
export const OVERVIEW_JS = String.raw`
import { $, api, clear, el, fail, formatTime, say } from './core.js';

const SVG = 'http://www.w3.org/2000/svg';
const REFRESH_MS = 10000;

function svg(tag, attrs, children) {
  const node = document.createElementNS(SVG, tag);
  for (const name of Object.keys(attrs || {})) node.setAttribute(name, String(attrs[name]));
  for (const child of children || []) node.append(child);
  return node;
}

function pad(n) {
  return n < 10 ? '0' + n : String(n);
}

function clock(ms) {
  const d = new Date(ms);
  return pad(d.getHours()) + ':' + pad(d.getMinutes());
}

function sum(values) {
  return values.reduce(function (a, b) { return a + b; }, 0);
}

/** Bars of requests per bucket with the errors drawn over them, and a text summary. */
function drawChart(box, series, label) {
  clear(box);
  const count = series.requests.length;
  const width = count * 10;
  const height = 100;
  const peak = Math.max.apply(null, series.requests);
  const max = Math.max(1, peak);
  const summary = label + ': ' + sum(series.requests) + ' requests, ' + sum(series.errors) + ' errors';
  const root = svg('svg', { viewBox: '0 0 ' + width + ' ' + (height + 1), preserveAspectRatio: 'none', role: 'img', 'aria-label': summary });
  for (let i = 0; i < count; i++) {
    const requests = series.requests[i];
    const errors = series.errors[i];
    if (requests === 0) continue;
    const from = series.start + i * series.bucket_ms;
    const title = svg('title', {}, [clock(from) + '\u2013' + clock(from + series.bucket_ms) + ': ' + requests + ' requests, ' + errors + ' errors']);
    const h = Math.max(1.5, (requests / max) * height);
    const bars = [title, svg('rect', { class: 'bar', x: i * 10 + 1, y: height - h, width: 8, height: h })];
    if (errors > 0) {
      const he = Math.max(1.5, (errors / max) * height);
      bars.push(svg('rect', { class: 'bar-err', x: i * 10 + 1, y: height - he, width: 8, height: he }));
    }
    root.append(svg('g', {}, bars));
  }
  root.append(svg('line', { class: 'baseline', x1: 0, x2: width, y1: height + 0.5, y2: height + 0.5 }));
  box.append(root);
  box.append(el('div', { className: 'axis', 'aria-hidden': 'true' }, [
    el('span', { text: clock(series.start) }),
    el('span', { text: peak === 0 ? 'no requests' : 'peak ' + peak + (peak === 1 ? ' request' : ' requests') }),
    el('span', { text: 'now' }),
  ]));
}

function setText(id, value) {
  $(id).textContent = String(value);
}

function drawReconnect(grants) {
  const list = $('reconnect');
  clear(list);
  $('reconnect-none').hidden = grants.length > 0;
  for (const grant of grants) {
    const name = grant.alias ? grant.alias + ' (' + grant.id + ')' : grant.id;
    const inputId = 'reconnect-' + grant.id;
    const children = [
      el('strong', { text: grant.provider_name }),
      ' grant ' + name + ' of app ' + grant.app + (grant.principal ? ', as ' + grant.principal : '') +
        ': the provider no longer accepts it. ',
    ];
    if (grant.reconnect) {
      children.push(el('label', { for: inputId, text: grant.alias ? 'Reconnect it in place with' : 'It has no alias, so connect a new grant (and revoke this one) with' }));
      children.push(el('div', { className: 'copy-row' }, [
        el('input', { id: inputId, readonly: true, value: grant.reconnect, spellcheck: 'false' }),
        el('button', { type: 'button', 'data-copy': inputId, text: 'Copy command' }),
      ]));
    }
    list.append(el('li', {}, children));
  }
}

async function refresh() {
  let data;
  try {
    data = await api('GET', '/api/overview');
  } catch (error) {
    fail(error);
    return;
  }
  for (const win of ['hour', 'day']) {
    setText(win + '-requests', data.totals[win].requests);
    setText(win + '-errors', data.totals[win].errors);
    setText(win + '-refused', data.totals[win].refused);
  }
  setText('count-apps', data.counts.apps);
  setText('count-keys', data.counts.keys);
  setText('count-grants', data.counts.grants);
  drawChart($('chart-hour'), data.series.hour, 'Last hour');
  drawChart($('chart-day'), data.series.day, 'Last 24 hours');
  drawReconnect(data.reconnect);
  setText('ca-fingerprint', data.ca.fingerprint256);
  setText('ca-path', data.ca.path);
  setText('ca-bundle', data.ca.bundle_path);
  setText('daemon-proxy', 'http://' + data.daemon.proxy);
  setText('daemon-auth', data.daemon.auth_required ? 'required (auth.required: true)' : 'OFF: any local program may use every grant (auth.required: false)');
  setText('daemon-vault', data.daemon.vault === 'keychain' ? 'the OS keychain' : 'encrypted file');
  setText('daemon-home', data.daemon.home);
  if (!drawn) say('Figures as of ' + formatTime(data.now) + '; they refresh every 10 seconds.');
  drawn = true;
}

let drawn = false;

refresh();
setInterval(function () { if (!document.hidden) refresh(); }, REFRESH_MS);
`;
