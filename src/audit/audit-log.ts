import type { Logger } from '../log/logger.js';
import type { Database } from '../store/database.js';
import type { AuditRecord } from './record.js';

export interface AuditLogOptions {
  /** How long a row may wait in memory before its batch is written. */
  flushIntervalMs?: number;
  /** A batch this large is written at once. */
  batchSize?: number;
  /** Rows held while the database refuses writes; the oldest go beyond this. */
  maxPending?: number;
}

// Positional parameters: binding by name costs a lookup per field per row.
const INSERT = `INSERT INTO audit (ts, request_id, app, key_id, grant_id, provider, principal,
  method, host, path, status, outcome, refreshed, duration_ms, bytes_in, bytes_out)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Writes audit rows off the hot path: rows queue in memory and go to SQLite
 * in one transaction per batch, every few milliseconds. A crash loses at most
 * the rows of the current interval. When the database refuses writes (disk
 * full, locked), rows stay queued and the next batch tries again.
 */
export class AuditLog {
  readonly #db: Database;
  readonly #log: Logger;
  readonly #insert;
  readonly #touchKey;
  readonly #touchGrant;
  readonly #writeBatch;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  readonly #maxPending: number;
  #pending: AuditRecord[] = [];
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  #dropped = 0;
  #droppedTotal = 0;
  #written = 0;

  constructor(db: Database, logger: Logger, options: AuditLogOptions = {}) {
    this.#db = db;
    this.#log = logger;
    this.#intervalMs = options.flushIntervalMs ?? 20;
    this.#batchSize = options.batchSize ?? 500;
    this.#maxPending = options.maxPending ?? 100_000;
    this.#insert = db.prepare(INSERT);
    this.#touchKey = db.prepare<[{ at: number; id: string }]>(
      'UPDATE keys SET last_used_at = @at WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)',
    );
    this.#touchGrant = db.prepare<[{ at: number; id: string }]>(
      'UPDATE grants SET last_used_at = @at WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)',
    );
    this.#writeBatch = db.transaction((rows: AuditRecord[]) => {
      const keys = new Map<string, number>();
      const grants = new Map<string, number>();
      for (const row of rows) {
        this.#insert.run(
          row.ts,
          row.requestId,
          row.app ?? null,
          row.keyId ?? null,
          row.grantId ?? null,
          row.provider ?? null,
          row.principal ?? null,
          row.method,
          row.host,
          row.path,
          row.status,
          row.outcome,
          row.refreshed ? 1 : 0,
          row.durationMs,
          row.bytesIn,
          row.bytesOut,
        );
        if (row.keyId) keys.set(row.keyId, Math.max(keys.get(row.keyId) ?? 0, row.ts));
        if (row.grantId && row.outcome === 'ok') grants.set(row.grantId, row.ts);
      }
      for (const [id, at] of keys) this.#touchKey.run({ at, id });
      for (const [id, at] of grants) this.#touchGrant.run({ at, id });
    });
  }

  /** Queues a row; it reaches the database within the flush interval. */
  record(row: AuditRecord): void {
    this.#pending.push(row);
    if (this.#pending.length > this.#maxPending) {
      this.#pending.shift();
      this.#dropped += 1;
      this.#droppedTotal += 1;
    }
    if (this.#pending.length >= this.#batchSize) {
      this.flush();
    } else {
      this.#timer ??= setTimeout(() => this.flush(), this.#intervalMs).unref();
    }
  }

  /**
   * Writes a row and everything queued before it now, for `audit.mode:
   * required`. Throws when the row could not be committed.
   */
  recordNow(row: AuditRecord): void {
    this.#pending.push(row);
    if (!this.flush()) throw new Error('the audit row could not be written');
  }

  /** Writes every queued row; false when the database refused them. */
  flush(): boolean {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return true;
    const rows = this.#pending;
    this.#pending = [];
    try {
      this.#writeBatch(rows);
    } catch (error) {
      this.#pending = rows.concat(this.#pending);
      if (!this.#failing) {
        this.#log.error(
          { err: error, pending: this.#pending.length },
          'cannot write audit rows; keeping them in memory and retrying (check disk space and the data folder)',
        );
      }
      this.#failing = true;
      this.#timer = setTimeout(() => this.flush(), 1_000).unref();
      return false;
    }
    this.#written += rows.length;
    if (this.#failing || this.#dropped > 0) {
      this.#log.warn({ written: rows.length, dropped: this.#dropped }, 'audit writes recovered');
      this.#failing = false;
      this.#dropped = 0;
    }
    return true;
  }

  /** Rows committed and dropped since start, and rows still waiting. */
  get stats(): { written: number; pending: number; dropped: number } {
    return { written: this.#written, pending: this.#pending.length, dropped: this.#droppedTotal };
  }

  /** False while the database refuses audit writes: readiness reports it. */
  get healthy(): boolean {
    return !this.#failing;
  }

  /** Deletes rows older than `days`; returns how many went. */
  prune(days: number, now = Date.now()): number {
    const cutoff = now - days * 86_400_000;
    return this.#db.prepare('DELETE FROM audit WHERE ts < ?').run(cutoff).changes;
  }

  close(): void {
    this.flush();
    clearTimeout(this.#timer);
  }
}
