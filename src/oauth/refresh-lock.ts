import type { Database } from '../store/database.js';

/**
 * Named locks in the `locks` table, shared by every process on one data
 * folder. A lock carries its owner and an expiry, so one left by a process
 * that died frees itself after its time-to-live.
 */
export class SqliteLocks {
  readonly #take;
  readonly #release;

  constructor(db: Database) {
    // The upsert takes a free name, or one whose holder is past its expiry; a
    // live holder's row is left alone and `changes` stays 0.
    this.#take = db.prepare<[string, string, number, number]>(
      `INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE locks.expires_at <= ?`,
    );
    this.#release = db.prepare<[string, string]>('DELETE FROM locks WHERE name = ? AND owner = ?');
  }

  /** Takes `name` for `owner` until `now + ttlMs`; false when someone else holds it. */
  tryTake(name: string, owner: string, ttlMs: number, now = Date.now()): boolean {
    return this.#take.run(name, owner, now + ttlMs, now).changes > 0;
  }

  /** Frees `name` if `owner` still holds it (after its expiry another may have taken it). */
  release(name: string, owner: string): void {
    this.#release.run(name, owner);
  }
}
