/**
 * The behaviour every vault backend must show, as plain async checks on node:assert so the
 * same cases run under vitest (file backend) and, transpiled, in a child process inside a
 * D-Bus session (keychain backend). Keep this file free of runtime imports other than
 * node builtins: the child loads it on its own.
 */
import { strict as assert } from 'node:assert';

import type { Credential, Vault } from '../../../src/vault/vault.js';

export interface BehaviourContext {
  /** A new Vault over the same store (same data folder or keychain service) each call. */
  open: () => Promise<Vault>;
}

export interface BehaviourCase {
  name: string;
  run(ctx: BehaviourContext): Promise<void>;
}

const oauth: Credential = {
  kind: 'oauth',
  access_token: 'xoxb-access-1',
  refresh_token: 'xoxe-refresh-1',
  expires_at: 1_900_000_000_000,
  token_type: 'Bearer',
  scope: 'chat:write users:read',
  obtained_at: 1_800_000_000_000,
};

export const vaultBehaviour: BehaviourCase[] = [
  {
    name: 'stores and returns a static credential',
    async run({ open }) {
      const vault = await open();
      await vault.put('gr_static', { kind: 'static', token: 'sk-live-1' }, 1);
      assert.deepEqual(await vault.get('gr_static', 1), { kind: 'static', token: 'sk-live-1' });
      assert.deepEqual(await (await open()).get('gr_static', 1), {
        kind: 'static',
        token: 'sk-live-1',
      });
    },
  },
  {
    name: 'stores and returns an oauth credential with every field',
    async run({ open }) {
      const vault = await open();
      await vault.put('gr_oauth', oauth, 1);
      assert.deepEqual(await (await open()).get('gr_oauth', 1), oauth);
    },
  },
  {
    name: 'returns undefined for an absent id',
    async run({ open }) {
      const vault = await open();
      assert.equal(await vault.get('gr_absent', 1), undefined);
    },
  },
  {
    name: 'replaces a credential on a second put',
    async run({ open }) {
      const vault = await open();
      await vault.put('gr_over', { kind: 'static', token: 'first' }, 1);
      await vault.put('gr_over', { kind: 'static', token: 'second' }, 2);
      assert.deepEqual(await vault.get('gr_over', 2), { kind: 'static', token: 'second' });
      assert.deepEqual(await (await open()).get('gr_over', 2), { kind: 'static', token: 'second' });
    },
  },
  {
    name: 'deletes a credential, and deleting an absent id is not an error',
    async run({ open }) {
      const vault = await open();
      await vault.put('gr_del', { kind: 'static', token: 'doomed' }, 1);
      await vault.put('gr_keep', { kind: 'static', token: 'kept' }, 1);
      await vault.delete('gr_del');
      assert.equal(await vault.get('gr_del', 1), undefined);
      assert.equal(await (await open()).get('gr_del', 1), undefined);
      assert.deepEqual(await vault.get('gr_keep', 1), { kind: 'static', token: 'kept' });
      await vault.delete('gr_del');
      await vault.delete('gr_never');
    },
  },
  {
    name: 'keeps unicode values intact',
    async run({ open }) {
      const token = 'tøkén-🔑-日本語-\u0301e-\u0000-"quoted"\\';
      await (await open()).put('gr_unicode', { kind: 'static', token }, 1);
      assert.deepEqual(await (await open()).get('gr_unicode', 1), { kind: 'static', token });
    },
  },
  {
    name: 'keeps a 64 KiB value intact',
    async run({ open }) {
      let token = '';
      for (let i = 0; token.length < 64 * 1024; i += 1) token += `${i.toString(36)}-é-`;
      token = token.slice(0, 64 * 1024);
      await (await open()).put('gr_big', { kind: 'static', token }, 1);
      const back = await (await open()).get('gr_big', 1);
      assert.ok(back?.kind === 'static');
      assert.equal(back.token.length, token.length);
      assert.equal(back.token, token);
    },
  },
  {
    name: "sees another Vault instance's write on the same store",
    async run({ open }) {
      const a = await open();
      const b = await open();
      await a.put('gr_shared', { kind: 'static', token: 'from-a' }, 1);
      assert.deepEqual(await a.get('gr_shared', 1), { kind: 'static', token: 'from-a' });
      assert.deepEqual(await b.get('gr_shared', 1), { kind: 'static', token: 'from-a' });

      await b.put('gr_shared', { kind: 'static', token: 'from-b' }, 2);
      assert.deepEqual(await a.get('gr_shared', 2), { kind: 'static', token: 'from-b' });

      await b.delete('gr_shared');
      assert.equal(await a.get('gr_shared', 3), undefined);
    },
  },
  {
    name: 'stores only the known credential fields',
    async run({ open }) {
      const vault = await open();
      const extra = { kind: 'static', token: 't', note: 'not stored' } as Credential;
      await vault.put('gr_extra', extra, 1);
      assert.deepEqual(await (await open()).get('gr_extra', 1), { kind: 'static', token: 't' });
    },
  },
];
