import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { SqliteLocks } from '../../../src/oauth/refresh-lock.js';
import { openDatabase, type Database } from '../../../src/store/database.js';
import { tempDir } from '../../helpers/daemon.js';

let db: Database | undefined;
afterEach(() => db?.close());

describe('SqliteLocks', () => {
  it('lets one owner hold a name until it releases or its lock expires', () => {
    const home = join(tempDir(), 'home');
    db = openDatabase(home);
    const other = openDatabase(home);
    try {
      const a = new SqliteLocks(db);
      const b = new SqliteLocks(other);
      expect(a.tryTake('g1', 'a', 1_000, 10_000)).toBe(true);
      expect(b.tryTake('g1', 'b', 1_000, 10_500)).toBe(false);
      expect(b.tryTake('g2', 'b', 1_000, 10_500)).toBe(true);
      // A holder that died frees the name once its time-to-live is over.
      expect(b.tryTake('g1', 'b', 1_000, 11_000)).toBe(true);
      // A late release by the old owner leaves the new holder alone.
      a.release('g1', 'a');
      expect(a.tryTake('g1', 'a', 1_000, 11_100)).toBe(false);
      b.release('g1', 'b');
      expect(a.tryTake('g1', 'a', 1_000, 11_200)).toBe(true);
    } finally {
      other.close();
    }
  });
});
