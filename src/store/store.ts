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
  #localChanges = 0;
  // data_version as read in this event-loop turn; undefined once the turn ends.
  #turnVersion: number | undefined;
  readonly #endTurn = () => (this.#turnVersion = undefined);

  constructor(db: Database) {
    this.db = db;
    const changed = () => (this.#localChanges += 1);
    this.apps = new AppStore(db, changed);
    this.keys = new KeyStore(db, changed);
    this.grants = new GrantStore(db, changed);
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

  /**
   * A number that changes whenever apps, keys or grants may have: a write by
   * another process, or by this one through these stores. Caches compare it
   * on each use, so a revocation anywhere applies to the next request.
   */
  changeStamp(): number {
    return this.#stamp(this.dataVersion());
  }

  /**
   * changeStamp for hot paths: the data_version query runs at most once per
   * event-loop turn. Requests handled in one turn arrived together, so none
   * of them comes after a commit another of them missed; this process's own
   * writes count at once.
   */
  turnChangeStamp(): number {
    if (this.#turnVersion === undefined) {
      this.#turnVersion = this.dataVersion();
      setImmediate(this.#endTurn).unref();
    }
    return this.#stamp(this.#turnVersion);
  }

  #stamp(dataVersion: number): number {
    return dataVersion * 1_048_576 + this.#localChanges;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
