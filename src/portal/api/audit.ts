import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

import { iterateAudit, listAudit, parseAuditQuery } from '../audit-view.js';
import { csvHeader, csvLine, jsonLine } from '../export.js';
import { PortalError } from '../http.js';
import { SECURITY_HEADERS } from '../security.js';
import { STREAMED, type ApiCall, type ApiRoute } from './context.js';

/** The audit log: filtered pages, the live tail (`after=`), and exports. */
export const AUDIT_ROUTES: ApiRoute[] = [
  { method: 'GET', path: '/api/audit', run: listRows },
  { method: 'GET', path: '/api/audit/export', run: exportRows },
];

const DEFAULT_LIMIT = 200;
const MAX_LIMIT = 1_000;
/** An export stops here; narrow the filter for more. */
export const MAX_EXPORT_ROWS = 200_000;

function listRows({ deps, query }: ApiCall) {
  const filter = parseAuditQuery(query);
  const limitText = query.get('limit');
  const limit = limitText ? Number(limitText) : DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new PortalError(400, 'bad_request', `limit: a whole number from 1 to ${MAX_LIMIT}.`);
  }
  // Rows wait up to 20 ms in memory before they are written; the tail shows them now.
  deps.audit.flush();
  const rows = listAudit(deps.store.db, filter, limit);
  return { rows, more: rows.length === limit };
}

/** CSV or JSON lines of every matching row, oldest first, streamed with backpressure. */
async function exportRows({ deps, query, res }: ApiCall) {
  const format = query.get('format') ?? 'csv';
  if (format !== 'csv' && format !== 'jsonl') {
    throw new PortalError(400, 'bad_request', 'format: csv or jsonl.');
  }
  const filter = parseAuditQuery(query);
  deps.audit.flush();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
    'Content-Disposition': `attachment; filename="grantd-audit-${stamp}.${format}"`,
  });
  if (format === 'csv') res.write(csvHeader());
  for (const row of iterateAudit(deps.store.db, filter, MAX_EXPORT_ROWS)) {
    const ok = res.write(format === 'csv' ? csvLine(row) : jsonLine(row));
    if (!ok) await drainedOrClosed(res);
    if (res.destroyed) return STREAMED;
  }
  res.end();
  return STREAMED;
}

/** Waits for the socket to take more, or for the client to go away. */
async function drainedOrClosed(res: ServerResponse): Promise<void> {
  const done = new AbortController();
  try {
    await Promise.race([
      once(res, 'drain', { signal: done.signal }),
      once(res, 'close', { signal: done.signal }),
    ]);
  } finally {
    done.abort();
  }
}
