import { createHash } from 'node:crypto';

import type { Database } from '../store/database.js';
import { randomBase62 } from '../util/ids.js';

/** How long a login link works: long enough to switch to the browser, short enough to go stale. */
export const LOGIN_TOKEN_TTL_MS = 5 * 60_000;

const PREFIX = 'gpl_';
/** 43 base62 characters: about 256 random bits. */
const RANDOM_CHARS = 43;
const SHAPE = /^gpl_[0-9A-Za-z]{43}$/;
/** Used and expired rows are kept a day, so a late click still says why it failed. */
const KEEP_MS = 86_400_000;

/** Why a login token was refused, or `ok`. */
export type LoginVerdict = 'ok' | 'used' | 'expired' | 'unknown';

function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * One-time tokens for `grantd portal` links, in the SQLite store so the CLI
 * (which mints) and the daemon (which redeems) share them. Only a SHA-256 of
 * each token is stored; a token is 256 random bits, so a slow hash would add
 * nothing.
 */
export class LoginTokens {
  readonly #insert;
  readonly #prune;
  readonly #redeem;
  readonly #lookup;

  constructor(db: Database) {
    this.#insert = db.prepare<[Buffer, number, number]>(
      'INSERT INTO portal_logins (hash, created_at, expires_at) VALUES (?, ?, ?)',
    );
    this.#prune = db.prepare<[number]>('DELETE FROM portal_logins WHERE expires_at < ?');
    // One statement, so two tabs (or two processes) racing on one link cannot both win.
    this.#redeem = db.prepare<[number, Buffer, number]>(
      'UPDATE portal_logins SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?',
    );
    this.#lookup = db.prepare<[Buffer], { used_at: number | null; expires_at: number }>(
      'SELECT used_at, expires_at FROM portal_logins WHERE hash = ?',
    );
  }

  /** Mints a token that works once until `now + ttlMs`; the token itself is never stored. */
  mint(now = Date.now(), ttlMs = LOGIN_TOKEN_TTL_MS): { token: string; expiresAt: number } {
    this.#prune.run(now - KEEP_MS);
    const token = `${PREFIX}${randomBase62(RANDOM_CHARS)}`;
    const expiresAt = now + ttlMs;
    this.#insert.run(hashToken(token), now, expiresAt);
    return { token, expiresAt };
  }

  /** Marks the token used and says `ok`, or says why it cannot be used. */
  redeem(token: string, now = Date.now()): LoginVerdict {
    if (!SHAPE.test(token)) return 'unknown';
    const hash = hashToken(token);
    if (this.#redeem.run(now, hash, now).changes === 1) return 'ok';
    const row = this.#lookup.get(hash);
    if (!row) return 'unknown';
    return row.used_at !== null ? 'used' : 'expired';
  }
}
