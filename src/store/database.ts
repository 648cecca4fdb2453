import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import BetterSqlite3 from 'better-sqlite3';

import { MIGRATIONS } from './migrations.js';

export type Database = BetterSqlite3.Database;

export const DATABASE_FILE = 'grantd.db';

export interface OpenOptions {
  /** Open without migrating or creating; for read-only tools. */
  readonly?: boolean;
  /** How long a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number;
}

/**
 * Opens the SQLite file in the data folder, creating it (mode 0600) on first
 * use, and brings its schema up to date. WAL lets the daemon read while a CLI
 * process writes; `busy_timeout` makes a writer wait its turn instead of
 * failing at once.
 */
export function openDatabase(home: string, options: OpenOptions = {}): Database {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = join(home, DATABASE_FILE);
  const isNew = !existsSync(file);
  const db = new BetterSqlite3(file, { readonly: options.readonly ?? false });
  if (isNew) chmodSync(file, 0o600);
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5_000}`);
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode loses at most the last transactions on power loss,
    // never the database's consistency; FULL costs 4x on every audit batch.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  }
  return db;
}

/** Runs every migration the file has not seen yet; refuses a newer schema. */
export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `the database schema (version ${current}) is newer than this grantd understands ` +
        `(${MIGRATIONS.length}); upgrade grantd`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      // A second process may have migrated while this one waited for the lock.
      const now = db.pragma('user_version', { simple: true }) as number;
      if (now > version) return;
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
