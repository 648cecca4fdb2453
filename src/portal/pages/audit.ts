import { ERROR_CATALOG } from '../../errors.js';
import { escapeHtml } from './layout.js';

/** Outcomes an audit row can carry: ok, grantd's error codes, and the failure labels. */
const OUTCOMES = ['ok', ...Object.keys(ERROR_CATALOG), 'client_aborted', 'upstream_reset'];

/** The audit log: filters, live tail, export, and a dialog for one row. */
export const AUDIT_BODY = `<h1>Audit log</h1>

<form id="filters" class="filters" role="search" aria-label="Filter audit rows" novalidate>
  <div class="field"><label for="f-range">Time range</label>
    <select id="f-range" name="range">
      <option value="15m">Last 15 minutes</option>
      <option value="1h">Last hour</option>
      <option value="24h" selected>Last 24 hours</option>
      <option value="7d">Last 7 days</option>
      <option value="30d">Last 30 days</option>
      <option value="all">All rows</option>
      <option value="custom">Custom range</option>
    </select></div>
  <div class="field custom-range" hidden><label for="f-from">From</label>
    <input id="f-from" name="from" type="datetime-local" step="1"></div>
  <div class="field custom-range" hidden><label for="f-to">To</label>
    <input id="f-to" name="to" type="datetime-local" step="1"></div>
  <div class="field"><label for="f-app">App</label>
    <select id="f-app" name="app"><option value="">Any app</option></select></div>
  <div class="field"><label for="f-grant">Grant</label>
    <select id="f-grant" name="grant"><option value="">Any grant</option></select></div>
  <div class="field"><label for="f-provider">Provider</label>
    <select id="f-provider" name="provider"><option value="">Any provider</option></select></div>
  <div class="field"><label for="f-status">Status</label>
    <select id="f-status" name="status">
      <option value="">Any status</option>
      <option value="2xx">2xx success</option>
      <option value="3xx">3xx redirect</option>
      <option value="4xx">4xx client error</option>
      <option value="5xx">5xx server error</option>
    </select></div>
  <div class="field"><label for="f-outcome">Outcome</label>
    <input id="f-outcome" name="outcome" list="outcomes" spellcheck="false" autocomplete="off"
      placeholder="ok, or an error code">
    <datalist id="outcomes">${OUTCOMES.map((o) => `<option value="${escapeHtml(o)}"></option>`).join('')}</datalist></div>
  <div class="actions">
    <button type="submit">Apply filters</button>
    <button type="button" id="f-reset" class="quiet">Reset</button>
  </div>
</form>

<div class="toolbar">
  <label class="check"><input type="checkbox" id="live" checked> Live tail: new rows appear at the top as requests happen</label>
  <span class="exports">Export the filtered rows:
    <a id="export-csv" href="/api/audit/export?format=csv" download>CSV</a>
    <a id="export-jsonl" href="/api/audit/export?format=jsonl" download>JSON lines</a></span>
</div>
<p id="status" class="status" role="status" aria-live="polite"></p>

<div class="table-wrap">
<table id="audit-table">
  <caption class="sr-only">Audit rows, newest first. Each time opens the row's details.</caption>
  <thead><tr>
    <th scope="col">Time</th><th scope="col">App</th><th scope="col">Grant</th>
    <th scope="col">Provider</th><th scope="col">Request</th><th scope="col">Status</th>
    <th scope="col">Outcome</th><th scope="col" class="num">ms</th>
  </tr></thead>
  <tbody></tbody>
</table>
</div>
<p id="audit-empty" class="quiet-text" hidden>No rows match these filters yet.</p>
<button type="button" id="older" hidden>Load older rows</button>

<dialog id="detail" aria-labelledby="detail-h">
  <h2 id="detail-h">Request details</h2>
  <dl id="detail-fields" class="facts"></dl>
  <button type="button" id="detail-close">Close</button>
</dialog>
`;
