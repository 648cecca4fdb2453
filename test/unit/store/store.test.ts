import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Store } from '../../../src/store/store.js';

const open: Store[] = [];
afterEach(() => {
  for (const store of open.splice(0)) store.close();
});

function openStore(home: string): Store {
  const store = Store.open(home);
  open.push(store);
  return store;
}

describe('the store', () => {
  it('keeps only a hash of each key and verifies the key itself', () => {
    const store = openStore(mkdtempSync(join(tmpdir(), 'grantd-store-')));
    const app = store.apps.create('app');
    const { id, key } = store.keys.mint(app.id);
    expect(key).toMatch(/^gk_[0-9A-Za-z]{40}$/);
    expect(store.keys.verify(key)).toEqual({ keyId: id, appId: app.id, appName: 'app' });
    expect(store.keys.verify(`${key.slice(0, -1)}x`)).toBeUndefined();
    expect(store.keys.verify('not a key')).toBeUndefined();
    const bytes = store.db.prepare('SELECT * FROM keys').all();
    expect(JSON.stringify(bytes)).not.toContain(key);
  });

  it("moves its change stamp on this process's writes and on another process's", () => {
    const home = mkdtempSync(join(tmpdir(), 'grantd-store-'));
    const daemon = openStore(home);
    const cli = openStore(home);
    const app = daemon.apps.create('app');
    const { id } = daemon.keys.mint(app.id);

    const first = daemon.changeStamp();
    expect(daemon.changeStamp()).toBe(first);
    daemon.grants.create({ appId: app.id, provider: 'openai', kind: 'static' });
    const second = daemon.changeStamp();
    expect(second).not.toBe(first);

    cli.keys.revoke(id);
    expect(daemon.changeStamp()).not.toBe(second);
  });

  it('applies migrations once, also when two processes open a new file together', () => {
    const home = mkdtempSync(join(tmpdir(), 'grantd-store-'));
    const a = openStore(home);
    const b = openStore(home);
    const version = a.db.pragma('user_version', { simple: true });
    expect(b.db.pragma('user_version', { simple: true })).toBe(version);
    expect(a.db.pragma('journal_mode', { simple: true })).toBe('wal');
  });
});
