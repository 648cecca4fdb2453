import type { Database } from '../store/database.js';
import type { AuditRecord } from './record.js';

export interface AuditFilter {
  /** Rows at or after this time (ms). */
  since?: number | undefined;
  /** Rows before this time (ms). */
  until?: number | undefined;
  app?: string | undefined;
  grant?: string | undefined;
  provider?: string | undefined;
  /** An exact status (`403`), a class (`4xx`), or an outcome (`ok`, `host_not_allowed`). */
  status?: string | undefined;
  /** `ok` or an error code, beside a status. */
  outcome?: string | undefined;
  /** Only rows after this sequence number, for `--follow` and a live tail. */
  afterSeq?: number | undefined;
  /** Only rows before this sequence number: the next page back. */
  beforeSeq?: number | undefined;
  limit?: number | undefined;
}

/** An audit row as SQLite returns it. */
export interface AuditRow {
  seq: number;
  ts: number;
  request_id: string;
  app: string | null;
  key_id: string | null;
  grant_id: string | null;
  provider: string | null;
  principal: string | null;
  method: string;
  host: string;
  path: string;
  status: number;
  outcome: string;
  refreshed: number;
  duration_ms: number;
  bytes_in: number;
  bytes_out: number;
}

/**
 * Reads audit rows matching a filter, oldest first: the newest `limit` rows
 * when a limit is given, so the end of the list is the latest activity.
 */
export function queryAudit(
  db: Database,
  filter: AuditFilter,
): { seq: number; record: AuditRecord }[] {
  const { sql, params } = auditWhere(filter);
  const limit = filter.limit ?? -1;
  const rows = db
    .prepare<(string | number)[], AuditRow>(
      `SELECT * FROM (SELECT * FROM audit ${sql} ORDER BY seq DESC LIMIT ?) ORDER BY seq`,
    )
    .all(...params, limit);
  return rows.map((row) => ({ seq: row.seq, record: fromRow(row) }));
}

/** The WHERE clause (possibly empty) and its parameters for a filter. */
export function auditWhere(filter: AuditFilter): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (clause: string, ...values: (string | number)[]) => {
    where.push(clause);
    params.push(...values);
  };
  if (filter.since !== undefined) add('ts >= ?', filter.since);
  if (filter.until !== undefined) add('ts < ?', filter.until);
  if (filter.afterSeq !== undefined) add('seq > ?', filter.afterSeq);
  if (filter.beforeSeq !== undefined) add('seq < ?', filter.beforeSeq);
  if (filter.app) add('app = ?', filter.app);
  if (filter.grant) add('grant_id = ?', filter.grant);
  if (filter.provider) add('provider = ?', filter.provider);
  if (filter.status) {
    const status = parseStatusFilter(filter.status);
    if (status.kind === 'range') add('status BETWEEN ? AND ?', status.from, status.to);
    else if (status.kind === 'exact') add('status = ?', status.value);
    else add('outcome = ?', status.value);
  }
  if (filter.outcome) add('outcome = ?', filter.outcome);
  return { sql: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** `30s`, `15m`, `2h`, `7d`, or a date (`2026-12-01`, ISO 8601), to ms since the epoch. */
export function parseSince(text: string, now = Date.now()): number | undefined {
  const relative = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's'];
    return now - Number(relative[1]) * unit;
  }
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : date;
}

type StatusFilter =
  | { kind: 'range'; from: number; to: number }
  | { kind: 'exact'; value: number }
  | { kind: 'outcome'; value: string };

export function parseStatusFilter(text: string): StatusFilter {
  const lower = text.toLowerCase();
  if (/^[1-5]xx$/.test(lower)) {
    const from = Number(lower[0]) * 100;
    return { kind: 'range', from, to: from + 99 };
  }
  if (/^\d{3}$/.test(lower)) return { kind: 'exact', value: Number(lower) };
  return { kind: 'outcome', value: lower };
}

export function fromRow(row: AuditRow): AuditRecord {
  return {
    ts: row.ts,
    requestId: row.request_id,
    app: row.app ?? undefined,
    keyId: row.key_id ?? undefined,
    grantId: row.grant_id ?? undefined,
    provider: row.provider ?? undefined,
    principal: row.principal ?? undefined,
    method: row.method,
    host: row.host,
    path: row.path,
    status: row.status,
    outcome: row.outcome,
    refreshed: row.refreshed === 1,
    durationMs: row.duration_ms,
    bytesIn: row.bytes_in,
    bytesOut: row.bytes_out,
  };
}
