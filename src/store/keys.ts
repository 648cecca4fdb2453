import { createHash, timingSafeEqual } from 'node:crypto';

import { randomBase62 } from '../util/ids.js';
import type { Database } from './database.js';

export const KEY_PREFIX = 'gk_';
const KEY_RANDOM_CHARS = 40;
/** `gk_` and base62; anything else is refused before hashing. */
const KEY_SHAPE = /^gk_[0-9A-Za-z]{32,128}$/;

export interface KeyInfo {
  id: string;
  appId: string;
  appName: string;
  createdAt: number;
  lastUsedAt: number | undefined;
  revokedAt: number | undefined;
}

/** A key that verified: who is calling. */
export interface Caller {
  keyId: string;
  appId: string;
  appName: string;
}

interface KeyRow {
  id: string;
  app_id: string;
  app_name: string;
  hash: Buffer;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export class KeyStore {
  readonly #insert;
  readonly #byHash;
  readonly #byId;
  readonly #list;
  readonly #revoke;

  readonly #changed: () => void;

  constructor(db: Database, changed: () => void = () => undefined) {
    this.#changed = changed;
    const select = `SELECT keys.*, apps.name AS app_name FROM keys JOIN apps ON apps.id = keys.app_id`;
    this.#insert = db.prepare<[string, string, Buffer, number]>(
      'INSERT INTO keys (id, app_id, hash, created_at) VALUES (?, ?, ?, ?)',
    );
    this.#byHash = db.prepare<[Buffer], KeyRow>(`${select} WHERE keys.hash = ?`);
    this.#byId = db.prepare<[string], KeyRow>(`${select} WHERE keys.id = ?`);
    this.#list = db.prepare<[string | null, string | null], KeyRow>(
      `${select} WHERE (? IS NULL OR keys.app_id = ?) ORDER BY keys.created_at`,
    );
    this.#revoke = db.prepare<[number, string]>(
      'UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
    );
  }

  /** Mints a key for an app. The key itself is returned once and never stored. */
  mint(appId: string, now = Date.now()): { id: string; key: string } {
    const id = `key_${randomBase62(12)}`;
    const key = `${KEY_PREFIX}${randomBase62(KEY_RANDOM_CHARS)}`;
    this.#insert.run(id, appId, hashKey(key), now);
    this.#changed();
    return { id, key };
  }

  /**
   * The caller a key belongs to, or undefined for a malformed, unknown or
   * revoked key. The row is found by its hash; the hashes are then compared
   * in constant time so no timing difference depends on the key's bytes.
   */
  verify(key: string): Caller | undefined {
    if (!KEY_SHAPE.test(key)) return undefined;
    const hash = hashKey(key);
    const row = this.#byHash.get(hash);
    if (!row || !timingSafeEqual(row.hash, hash) || row.revoked_at !== null) return undefined;
    return { keyId: row.id, appId: row.app_id, appName: row.app_name };
  }

  byId(id: string): KeyInfo | undefined {
    const row = this.#byId.get(id);
    return row && toInfo(row);
  }

  list(appId?: string): KeyInfo[] {
    const app = appId ?? null;
    return this.#list.all(app, app).map(toInfo);
  }

  /** Revokes a key; false when there is no such key or it was already revoked. */
  revoke(id: string, now = Date.now()): boolean {
    const revoked = this.#revoke.run(now, id).changes > 0;
    this.#changed();
    return revoked;
  }
}

function toInfo(row: KeyRow): KeyInfo {
  return {
    id: row.id,
    appId: row.app_id,
    appName: row.app_name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at ?? undefined,
    revokedAt: row.revoked_at ?? undefined,
  };
}
