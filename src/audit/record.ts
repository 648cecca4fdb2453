/**
 * One audit row: a proxied request that used a grant, or a request grantd
 * refused. Names and ids only; never a token, header value, query or body.
 */
export interface AuditRecord {
  ts: number;
  requestId: string;
  app: string | undefined;
  keyId: string | undefined;
  grantId: string | undefined;
  provider: string | undefined;
  principal: string | undefined;
  method: string;
  host: string;
  /** The path without its query string. */
  path: string;
  /** The status the client saw; 0 when it went away before any. */
  status: number;
  /** `ok`, or the error code or failure label that ended the request. */
  outcome: string;
  refreshed: boolean;
  durationMs: number;
  /** Request body bytes sent upstream. */
  bytesIn: number;
  /** Response body bytes sent to the client. */
  bytesOut: number;
}

/** The row as `grantd audit --json` prints it, with the contract's field names. */
export interface AuditJson {
  time: string;
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
  refreshed: boolean;
  duration_ms: number;
  bytes_in: number;
  bytes_out: number;
}

export function toAuditJson(record: AuditRecord): AuditJson {
  return {
    time: new Date(record.ts).toISOString(),
    request_id: record.requestId,
    app: record.app ?? null,
    key_id: record.keyId ?? null,
    grant_id: record.grantId ?? null,
    provider: record.provider ?? null,
    principal: record.principal ?? null,
    method: record.method,
    host: record.host,
    path: record.path,
    status: record.status,
    outcome: record.outcome,
    refreshed: record.refreshed,
    duration_ms: record.durationMs,
    bytes_in: record.bytesIn,
    bytes_out: record.bytesOut,
  };
}
