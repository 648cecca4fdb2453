import type { AuditRowJson } from './audit-view.js';

/** The CSV columns: `grantd audit --json`'s fields, in its order. */
export const CSV_COLUMNS = [
  'time',
  'request_id',
  'app',
  'key_id',
  'grant_id',
  'provider',
  'principal',
  'method',
  'host',
  'path',
  'status',
  'outcome',
  'refreshed',
  'duration_ms',
  'bytes_in',
  'bytes_out',
] as const;

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  // A spreadsheet runs a cell that starts with = + - @ as a formula; paths and
  // principals come from outside, so such text cells get a leading apostrophe.
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvLine(row: AuditRowJson): string {
  return `${CSV_COLUMNS.map((column) => csvField(row[column])).join(',')}\r\n`;
}

/** A JSON line exactly as `grantd audit --json` prints it (without the portal's row number). */
export function jsonLine(row: AuditRowJson): string {
  const record: Partial<AuditRowJson> = { ...row };
  delete record.seq;
  return `${JSON.stringify(record)}\n`;
}
