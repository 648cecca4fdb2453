import { hostname } from 'node:os';

import type { Database } from '../store/database.js';
import { randomBase62 } from '../util/ids.js';

/**
 * An owner name for a lock: host, pid and a random part. A lock whose owner
 * is a dead process on this host is broken at once, rather than after its
 * time-to-live (a daemon killed mid-refresh must not block the restarted one).
 */
export function lockOwner(): string {
  return `${hostname()}:${process.pid}:${PROCESS_ID}:${randomBase62(12)}`;
}

/**
 * Tells this process from an earlier one with the same pid: a restarted
 * container is often pid 1 again, on the same host name.
 */
const PROCESS_ID = randomBase62(12);

function isDeadLocalOwner(owner: string): boolean {
  const [host, pid, processId] = owner.split(':');
  if (host !== hostname() || pid === undefined || !/^\d+$/.test(pid)) return false;
  if (Number(pid) === process.pid) return processId !== PROCESS_ID;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Named locks in the `locks` table, shared by every process on one data
 * folder. A lock carries its owner and an expiry, so one left by a process
 * that died frees itself after its time-to-live.
 */
export class SqliteLocks {
  readonly #take;
  readonly #release;
  readonly #holder;
  readonly #breakStale;

  constructor(db: Database) {
    // The upsert takes a free name, or one whose holder is past its expiry; a
    // live holder's row is left alone and `changes` stays 0.
    this.#take = db.prepare<[string, string, number, number]>(
      `INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE locks.expires_at <= ?`,
    );
    this.#release = db.prepare<[string, string]>('DELETE FROM locks WHERE name = ? AND owner = ?');
    this.#holder = db.prepare<[string], string>('SELECT owner FROM locks WHERE name = ?').pluck();
    this.#breakStale = this.#release;
  }

  /** Takes `name` for `owner` until `now + ttlMs`; false when someone else holds it. */
  tryTake(name: string, owner: string, ttlMs: number, now = Date.now()): boolean {
    if (this.#take.run(name, owner, now + ttlMs, now).changes > 0) return true;
    const holder = this.#holder.get(name);
    if (holder === undefined || !isDeadLocalOwner(holder)) return false;
    this.#breakStale.run(name, holder);
    return this.#take.run(name, owner, now + ttlMs, now).changes > 0;
  }

  /** Frees `name` if `owner` still holds it (after its expiry another may have taken it). */
  release(name: string, owner: string): void {
    this.#release.run(name, owner);
  }
}
