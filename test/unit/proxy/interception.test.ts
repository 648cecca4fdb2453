import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ProviderRegistry } from '../../../src/providers/registry.js';
import { Interception } from '../../../src/proxy/interception.js';
import { Store } from '../../../src/store/store.js';

const CONFIG = { intercept: ['plain.example.test'], providers: {}, routes: [] };

describe('Interception', () => {
  let home: string;
  let store: Store;
  let other: Store;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'grantd-intercept-'));
    store = Store.open(home);
    other = Store.open(home);
  });

  afterEach(() => {
    store.close();
    other.close();
    rmSync(home, { recursive: true, force: true });
  });

  /** The next event-loop turn, when the store's stamp is read afresh. */
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('covers listed hosts, and a provider only once some grant uses it', () => {
    const interception = new Interception(CONFIG, { providers: new ProviderRegistry(), store });
    expect(interception.covers('plain.example.test')).toBe(true);
    expect(interception.covers('api.openai.com')).toBe(false);
  });

  it('picks up a grant this process added (the portal), in the same turn', () => {
    const interception = new Interception(CONFIG, { providers: new ProviderRegistry(), store });
    expect(interception.covers('api.openai.com')).toBe(false);
    const app = store.apps.create('billing');
    store.grants.create({ appId: app.id, provider: 'openai', kind: 'static' });
    expect(interception.covers('api.openai.com')).toBe(true);
  });

  it('picks up a grant another process added (the CLI), from the next turn', async () => {
    const interception = new Interception(CONFIG, { providers: new ProviderRegistry(), store });
    expect(interception.covers('api.openai.com')).toBe(false);
    const app = other.apps.create('billing');
    other.grants.create({ appId: app.id, provider: 'openai', kind: 'static' });
    await nextTurn();
    expect(interception.covers('api.openai.com')).toBe(true);
  });
});
