import { AppStore } from './apps.js';
import { openDatabase, type Database, type OpenOptions } from './database.js';
import { GrantStore } from './grants.js';
import { KeyStore } from './keys.js';

/**
 * The data folder's SQLite file: apps, keys, grants and the audit log. The
 * daemon and CLI processes each open their own, and see each other's writes
 * on their next statement.
 */
export class Store {
  readonly db: Database;
  readonly apps: AppStore;
  readonly keys: KeyStore;
  readonly grants: GrantStore;
  readonly #dataVersion;

  constructor(db: Database) {
    this.db = db;
    this.apps = new AppStore(db);
    this.keys = new KeyStore(db);
    this.grants = new GrantStore(db);
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  static open(home: string, options?: OpenOptions): Store {
    return new Store(openDatabase(home, options));
  }

  /**
   * SQLite's counter of commits made by other connections. It changes when
   * another process (a CLI revoking a key) wrote, so caches can drop what
   * they hold without polling on a timer.
   */
  dataVersion(): number {
    return this.#dataVersion.get() as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
