import { randomBase62 } from '../util/ids.js';
import type { Database } from './database.js';

export interface App {
  id: string;
  name: string;
  createdAt: number;
}

interface AppRow {
  id: string;
  name: string;
  created_at: number;
}

/** App names appear in proxy URLs, config and audit rows: keep them plain. */
export const APP_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export class AppStore {
  readonly #insert;
  readonly #byName;
  readonly #byId;
  readonly #all;
  readonly #delete;

  readonly #changed: () => void;

  /** `changed` is told of every write, so caches over the store can drop what they hold. */
  constructor(db: Database, changed: () => void = () => undefined) {
    this.#changed = changed;
    this.#insert = db.prepare<[string, string, number]>(
      'INSERT INTO apps (id, name, created_at) VALUES (?, ?, ?)',
    );
    this.#byName = db.prepare<[string], AppRow>('SELECT * FROM apps WHERE name = ?');
    this.#byId = db.prepare<[string], AppRow>('SELECT * FROM apps WHERE id = ?');
    this.#all = db.prepare<[], AppRow>('SELECT * FROM apps ORDER BY name');
    this.#delete = db.prepare<[string]>('DELETE FROM apps WHERE id = ?');
  }

  /** Creates an app; throws StoreConflict when the name is taken. */
  create(name: string, now = Date.now()): App {
    const id = `app_${randomBase62(12)}`;
    try {
      this.#insert.run(id, name, now);
      this.#changed();
    } catch (error) {
      if (isUniqueViolation(error)) throw new StoreConflict(`an app named ${name} exists`);
      throw error;
    }
    return { id, name, createdAt: now };
  }

  byName(name: string): App | undefined {
    return toApp(this.#byName.get(name));
  }

  byId(id: string): App | undefined {
    return toApp(this.#byId.get(id));
  }

  list(): App[] {
    return this.#all.all().map((row) => toApp(row) as App);
  }

  /** Deletes the app; its keys and grants go with it (ON DELETE CASCADE). */
  delete(id: string): boolean {
    const deleted = this.#delete.run(id).changes > 0;
    this.#changed();
    return deleted;
  }
}

function toApp(row: AppRow | undefined): App | undefined {
  return row && { id: row.id, name: row.name, createdAt: row.created_at };
}

/** A write that would break a uniqueness rule (a name or alias taken). */
export class StoreConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflict';
  }
}

export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
