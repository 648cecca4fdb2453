import {
  auditWhere,
  fromRow,
  parseSince,
  type AuditFilter,
  type AuditRow,
} from '../audit/query.js';
import { toAuditJson, type AuditJson } from '../audit/record.js';
import type { Database } from '../store/database.js';
import { PortalError } from './http.js';

/** The portal's audit filter: the CLI's, with an end time and status class and outcome apart. */
export type AuditQuery = Omit<AuditFilter, 'limit'>;

/** An audit row as the portal sends it: `grantd audit --json`'s fields and the row's number. */
export interface AuditRowJson extends AuditJson {
  seq: number;
}

const TEXT_FILTERS = ['app', 'grant', 'provider'] as const;

/** Reads the filter from a query string; a 400 names the parameter at fault. */
export function parseAuditQuery(params: URLSearchParams, now = Date.now()): AuditQuery {
  const query: AuditQuery = {};
  for (const name of TEXT_FILTERS) {
    const value = params.get(name)?.trim();
    if (!value) continue;
    if (value.length > 200) throw bad(name, 'too long');
    query[name] = value;
  }
  query.since = readTime(params, 'since', now);
  query.until = readTime(params, 'until', now);
  const status = params.get('status')?.trim().toLowerCase();
  if (status) {
    if (!/^([1-5]xx|\d{3})$/.test(status))
      throw bad('status', 'use a class (4xx) or a status (404)');
    query.status = status;
  }
  const outcome = params.get('outcome')?.trim().toLowerCase();
  if (outcome) {
    if (!/^[a-z_]{1,64}$/.test(outcome)) throw bad('outcome', 'use ok or an error code');
    query.outcome = outcome;
  }
  query.afterSeq = readInteger(params, 'after');
  query.beforeSeq = readInteger(params, 'before');
  return query;
}

/** The newest rows matching the filter, newest first. */
export function listAudit(db: Database, query: AuditQuery, limit: number): AuditRowJson[] {
  const { sql, params } = auditWhere(query);
  return db
    .prepare<(string | number)[], AuditRow>(`SELECT * FROM audit ${sql} ORDER BY seq DESC LIMIT ?`)
    .all(...params, limit)
    .map(toJson);
}

/** Every row matching the filter, oldest first, read in chunks so an export never holds them all. */
export function* iterateAudit(
  db: Database,
  query: AuditQuery,
  max: number,
  chunk = 1_000,
): Generator<AuditRowJson> {
  let after = query.afterSeq ?? 0;
  let left = max;
  while (left > 0) {
    const { sql, params } = auditWhere({ ...query, afterSeq: after });
    const rows = db
      .prepare<(string | number)[], AuditRow>(`SELECT * FROM audit ${sql} ORDER BY seq LIMIT ?`)
      .all(...params, Math.min(chunk, left));
    for (const row of rows) yield toJson(row);
    if (rows.length < chunk) return;
    after = (rows.at(-1) as AuditRow).seq;
    left -= rows.length;
  }
}

/** Request, error and refusal counts per bucket over a window ending now, oldest bucket first. */
export interface AuditSeries {
  start: number;
  bucket_ms: number;
  requests: number[];
  errors: number[];
  refused: number[];
}

export function auditSeries(
  db: Database,
  now: number,
  windowMs: number,
  bucketMs: number,
): AuditSeries {
  const buckets = Math.ceil(windowMs / bucketMs);
  // better-sqlite3 binds numbers as REAL, hence the CAST to a whole bucket number below.
  // Aligned to the bucket size, so a chart does not shift its bars every second.
  const end = Math.floor(now / bucketMs) * bucketMs + bucketMs;
  const start = end - buckets * bucketMs;
  const series: AuditSeries = {
    start,
    bucket_ms: bucketMs,
    requests: new Array<number>(buckets).fill(0),
    errors: new Array<number>(buckets).fill(0),
    refused: new Array<number>(buckets).fill(0),
  };
  const rows = db
    .prepare<
      [number, number, number, number],
      { bucket: number; requests: number; errors: number; refused: number }
    >(
      `SELECT CAST((ts - ?) / ? AS INTEGER) AS bucket, count(*) AS requests,
         sum(CASE WHEN status >= 400 OR status = 0 THEN 1 ELSE 0 END) AS errors,
         sum(CASE WHEN outcome != 'ok' THEN 1 ELSE 0 END) AS refused
       FROM audit WHERE ts >= ? AND ts < ? GROUP BY bucket`,
    )
    .all(start, bucketMs, start, end);
  for (const row of rows) {
    if (row.bucket < 0 || row.bucket >= buckets) continue;
    series.requests[row.bucket] = row.requests;
    series.errors[row.bucket] = row.errors;
    series.refused[row.bucket] = row.refused;
  }
  return series;
}

/** Through toAuditJson, so exported lines are exactly what `grantd audit --json` prints. */
function toJson(row: AuditRow): AuditRowJson {
  return { seq: row.seq, ...toAuditJson(fromRow(row)) };
}

/** A time parameter: ms since the epoch, a relative age (`15m`), or a date. */
function readTime(params: URLSearchParams, name: string, now: number): number | undefined {
  const text = params.get(name)?.trim();
  if (!text) return undefined;
  if (/^\d{10,}$/.test(text)) return Number(text);
  const time = parseSince(text, now);
  if (time === undefined) throw bad(name, 'use 15m, 2h, 7d, a date, or ms since the epoch');
  return time;
}

function readInteger(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name)?.trim();
  if (!text) return undefined;
  if (!/^\d{1,15}$/.test(text)) throw bad(name, 'expected a row number');
  return Number(text);
}

function bad(name: string, message: string): PortalError {
  return new PortalError(400, 'bad_request', `${name}: ${message}.`);
}
