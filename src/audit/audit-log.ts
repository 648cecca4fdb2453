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
  // Latest use per key and grant seen since the last batch, written with it.
  readonly #keysUsed = new Map<string, number>();
  readonly #grantsUsed = new Map<string, number>();
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
      for (const row of rows) {
        this.#insertRow(row);
        this.#noteUse(row);
      }
      // last_used_at once per key and grant per batch, not once per row.
      for (const [id, at] of this.#keysUsed) this.#touchKey.run({ at, id });
      for (const [id, at] of this.#grantsUsed) this.#touchGrant.run({ at, id });
    });
  }

  #insertRow(row: AuditRecord): void {
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
  }

  #noteUse(row: AuditRecord): void {
    if (row.keyId)
      this.#keysUsed.set(row.keyId, Math.max(this.#keysUsed.get(row.keyId) ?? 0, row.ts));
    if (row.grantId && row.outcome === 'ok') {
      this.#grantsUsed.set(row.grantId, Math.max(this.#grantsUsed.get(row.grantId) ?? 0, row.ts));
    }
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
    // Rows queued before this one go first, so the table keeps their order.
    if (this.#pending.length > 0 && !this.flush()) {
      this.#pending.push(row);
      throw new Error('the audit row could not be written');
    }
    try {
      // The row alone, in one commit; the last_used_at updates it implies
      // wait for the next batch, as they would in best_effort mode.
      this.#insertRow(row);
    } catch (error) {
      this.#pending.push(row);
      this.#failed(error);
      throw new Error('the audit row could not be written');
    }
    this.#written += 1;
    this.#noteUse(row);
    this.#timer ??= setTimeout(() => this.flush(), this.#intervalMs).unref();
  }

  /** Writes every queued row; false when the database refused them. */
  flush(): boolean {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0 && this.#keysUsed.size === 0 && this.#grantsUsed.size === 0) {
      return true;
    }
    const rows = this.#pending;
    this.#pending = [];
    try {
      this.#writeBatch(rows);
    } catch (error) {
      this.#pending = rows.concat(this.#pending);
      this.#failed(error);
      return false;
    }
    this.#keysUsed.clear();
    this.#grantsUsed.clear();
    this.#written += rows.length;
    if (this.#failing || this.#dropped > 0) {
      this.#log.warn({ written: rows.length, dropped: this.#dropped }, 'audit writes recovered');
      this.#failing = false;
      this.#dropped = 0;
    }
    return true;
  }

  #failed(error: unknown): void {
    if (!this.#failing) {
      this.#log.error(
        { err: error, pending: this.#pending.length },
        'cannot write audit rows; keeping them in memory and retrying (check disk space and the data folder)',
      );
    }
    this.#failing = true;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.flush(), 1_000).unref();
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
