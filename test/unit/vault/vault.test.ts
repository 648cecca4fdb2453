import { describe, expect, it } from 'vitest';

import { GrantdError } from '../../../src/errors.js';
import {
  Vault,
  VaultBackendError,
  type Credential,
  type VaultBackend,
} from '../../../src/vault/vault.js';
import { vaultBehaviour } from './behaviour.js';
import { captureLogger } from './util.js';

/** An in-memory backend that counts reads and can be made to fail. */
class MemoryBackend implements VaultBackend {
  readonly kind = 'file' as const;
  readonly values = new Map<string, string>();
  reads = 0;
  failure: Error | undefined;

  get(id: string): Promise<string | undefined> {
    this.reads += 1;
    if (this.failure) return Promise.reject(this.failure);
    return Promise.resolve(this.values.get(id));
  }

  set(id: string, value: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.values.set(id, value);
    return Promise.resolve();
  }

  delete(id: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.values.delete(id);
    return Promise.resolve();
  }
}

const token = (t: string): Credential => ({ kind: 'static', token: t });
const broken = () =>
  new VaultBackendError('file_corrupt', '/data/vault.enc is truncated', 'restore it from a backup');

describe('Vault over an in-memory backend', () => {
  for (const behaviour of vaultBehaviour) {
    it(behaviour.name, async () => {
      const backend = new MemoryBackend();
      await behaviour.run({
        open: () => Promise.resolve(new Vault(backend, captureLogger().logger)),
      });
    });
  }

  it('serves a matching version from its cache without asking the backend', async () => {
    const backend = new MemoryBackend();
    const vault = new Vault(backend, captureLogger().logger);
    await vault.put('gr_1', token('one'), 7);
    expect(await vault.get('gr_1', 7)).toEqual(token('one'));
    expect(await vault.get('gr_1', 7)).toEqual(token('one'));
    expect(backend.reads).toBe(0);

    expect(await vault.get('gr_1', 8)).toEqual(token('one'));
    expect(backend.reads).toBe(1);
  });

  it('hands out copies, so a caller cannot change the cached credential', async () => {
    const vault = new Vault(new MemoryBackend(), captureLogger().logger);
    await vault.put('gr_1', token('one'), 1);
    const first = await vault.get('gr_1', 1);
    if (first?.kind === 'static') first.token = 'changed';
    expect(await vault.get('gr_1', 1)).toEqual(token('one'));
  });

  it('does not cache an older write under a newer version', async () => {
    // Another process bumped the version to 2 but has not written the secret yet.
    const backend = new MemoryBackend();
    const writer = new Vault(backend, captureLogger().logger);
    const reader = new Vault(backend, captureLogger().logger);
    await writer.put('gr_1', token('old'), 1);

    expect(await reader.get('gr_1', 2)).toEqual(token('old'));
    await new Vault(backend, captureLogger().logger).put('gr_1', token('new'), 2);
    expect(await reader.get('gr_1', 2)).toEqual(token('new'));
  });

  it('fails with a client-safe vault_unavailable and logs one line per distinct failure', async () => {
    const backend = new MemoryBackend();
    const log = captureLogger();
    const vault = new Vault(backend, log.logger);
    await vault.put('gr_1', token('sk-secret-value'), 1);
    backend.failure = broken();

    for (let i = 0; i < 3; i += 1) {
      const error = (await vault.get('gr_1', 2).catch((e: unknown) => e)) as GrantdError;
      expect(error).toBeInstanceOf(GrantdError);
      expect(error.code).toBe('vault_unavailable');
      expect(error.status).toBe(503);
      expect(error.message).toBe('The vault cannot be read.');
      expect(error.cause).toBe(backend.failure);
    }
    await expect(vault.put('gr_1', token('x'), 3)).rejects.toThrow('The vault cannot be written.');
    await expect(vault.delete('gr_1')).rejects.toMatchObject({ code: 'vault_unavailable' });

    const errors = log.at('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toContain('/data/vault.enc is truncated');
    expect(errors[0]!.msg).toContain('restore it from a backup');
    expect(errors[0]).toMatchObject({ backend: 'file', grant: 'gr_1', reason: 'file_corrupt' });

    // A different failure is news.
    backend.failure = new VaultBackendError(
      'file_io',
      'cannot read /data/vault.enc: EIO',
      'check the disk',
    );
    await expect(vault.get('gr_1', 2)).rejects.toBeInstanceOf(GrantdError);
    expect(log.at('error')).toHaveLength(2);

    // After it works again, the same failure is logged again.
    backend.failure = undefined;
    await vault.get('gr_1', 2);
    backend.failure = broken();
    await expect(vault.get('gr_1', 4)).rejects.toBeInstanceOf(GrantdError);
    expect(log.at('error')).toHaveLength(3);
    expect(log.raw.join('\n')).not.toContain('sk-secret-value');
  });

  it('drops the cached entry when a write fails, so the next read asks the backend', async () => {
    const backend = new MemoryBackend();
    const vault = new Vault(backend, captureLogger().logger);
    await vault.put('gr_1', token('one'), 1);
    backend.failure = broken();
    await expect(vault.put('gr_1', token('two'), 1)).rejects.toBeInstanceOf(GrantdError);
    await expect(vault.get('gr_1', 1)).rejects.toBeInstanceOf(GrantdError);
  });

  it('reports a damaged stored entry as vault_unavailable', async () => {
    const backend = new MemoryBackend();
    const log = captureLogger();
    backend.values.set('gr_1', '{"version":1,"credential":{"kind":"static"}}');
    backend.values.set('gr_2', 'not json');
    const vault = new Vault(backend, log.logger);
    await expect(vault.get('gr_1', 1)).rejects.toMatchObject({ code: 'vault_unavailable' });
    await expect(vault.get('gr_2', 1)).rejects.toMatchObject({ code: 'vault_unavailable' });
    expect(log.at('error')[0]!.msg).toContain('gr_1');
  });

  it('wraps an unexpected backend error too', async () => {
    const backend = new MemoryBackend();
    backend.failure = new Error('boom');
    const vault = new Vault(backend, captureLogger().logger);
    await expect(vault.get('gr_1', 1)).rejects.toMatchObject({ code: 'vault_unavailable' });
  });

  it.each([
    ['a static credential without a token', { kind: 'static', token: '' }],
    ['an oauth credential without obtained_at', { kind: 'oauth', access_token: 'a' }],
    ['an unknown kind', { kind: 'cookie', token: 'a' }],
  ])('refuses to store %s, without echoing it', async (_label, credential) => {
    const backend = new MemoryBackend();
    const vault = new Vault(backend, captureLogger().logger);
    const error = await vault.put('gr_1', credential as Credential, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).not.toContain('"a"');
    expect(backend.values.size).toBe(0);
  });

  it('stores the version beside the credential', async () => {
    const backend = new MemoryBackend();
    await new Vault(backend, captureLogger().logger).put('gr_1', token('one'), 5);
    expect(JSON.parse(backend.values.get('gr_1')!)).toEqual({
      version: 5,
      credential: token('one'),
    });
  });

  it('says why it was given its backend', () => {
    const vault = new Vault(new MemoryBackend(), captureLogger().logger, 'because');
    expect(vault.kind).toBe('file');
    expect(vault.reason).toBe('because');
  });
});
