import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { GrantdError } from '../../../src/errors.js';
import { Vault } from '../../../src/vault/vault.js';
import { captureLogger, listFiles, randomKey, tempHome } from './util.js';

// No session bus for this whole file. libdbus reads the address once per process, so it
// must be set before the first keyring call; vitest runs each test file in its own process.
process.env.DBUS_SESSION_BUS_ADDRESS = 'unix:path=/nonexistent/grantd-test-bus';

const open = (home: string, backend: 'auto' | 'keychain' | 'file', log = captureLogger()) =>
  Vault.open(
    { home, vault: { backend, key: 'env:K' } },
    { logger: log.logger, env: { K: randomKey() } },
  );

async function openError(promise: Promise<Vault>): Promise<GrantdError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GrantdError);
  expect((error as GrantdError).code).toBe('vault_unavailable');
  return error as GrantdError;
}

describe('vault.backend auto without a keychain', () => {
  it('picks the file, remembers it, and logs one info line saying why', async () => {
    const home = tempHome();
    const log = captureLogger();
    const started = Date.now();
    const vault = await open(home, 'auto', log);

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(vault.kind).toBe('file');
    expect(vault.reason).toBe(
      'vault.backend is auto and the keychain is not usable (no D-Bus session bus)',
    );
    const choice = join(home, 'vault-backend');
    expect(readFileSync(choice, 'utf8')).toBe('file\n');
    expect(statSync(choice).mode & 0o777).toBe(0o600);

    const infos = log.at('info');
    expect(infos).toHaveLength(1);
    expect(infos[0]).toMatchObject({ backend: 'file' });
    expect(infos[0]!.msg).toContain('no D-Bus session bus');
    expect(infos[0]!.msg).toContain(join(home, 'vault.enc'));
  });

  it('follows the remembered choice on the next open, without a new info line', async () => {
    const home = tempHome();
    await open(home, 'auto');
    const log = captureLogger();
    const vault = await open(home, 'auto', log);
    expect(vault.kind).toBe('file');
    expect(vault.reason).toContain(`${join(home, 'vault-backend')} records file`);
    expect(log.at('info')).toHaveLength(0);
  });

  it('fails closed when the remembered keychain is not usable', async () => {
    const home = tempHome();
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'vault-backend'), 'keychain\n');
    const log = captureLogger();

    const error = await openError(open(home, 'auto', log));
    expect(error.message).toContain(join(home, 'vault-backend'));
    expect(error.message).toContain('no D-Bus session bus');
    const errors = log.at('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toContain('does not fall back to the file vault');
    // Nothing was switched or created.
    expect(readFileSync(join(home, 'vault-backend'), 'utf8')).toBe('keychain\n');
    expect(listFiles(home)).toEqual(['vault-backend']);
  });

  it('refuses a vault-backend file it does not understand', async () => {
    const home = tempHome();
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'vault-backend'), 'cloud\n');
    const error = await openError(open(home, 'auto'));
    expect(error.message).toContain(join(home, 'vault-backend'));
    expect(readFileSync(join(home, 'vault-backend'), 'utf8')).toBe('cloud\n');
  });

  it('keeps an existing vault.enc rather than probing for a keychain', async () => {
    const home = tempHome();
    const env = { K: randomKey() };
    const config = (backend: 'auto' | 'file') => ({ home, vault: { backend, key: 'env:K' } });
    const logger = captureLogger().logger;
    await (
      await Vault.open(config('file'), { logger, env })
    ).put('gr_1', { kind: 'static', token: 't' }, 1);

    const vault = await Vault.open(config('auto'), { logger, env });
    expect(vault.reason).toBe(
      `vault.backend is auto and ${join(home, 'vault.enc')} already exists`,
    );
    expect(await vault.get('gr_1', 1)).toEqual({ kind: 'static', token: 't' });
  });

  it('agrees with itself when two processes open a fresh data folder at once', async () => {
    const home = tempHome();
    const env = { K: randomKey() };
    const logger = captureLogger().logger;
    const config = { home, vault: { backend: 'auto' as const, key: 'env:K' } };
    const [a, b] = await Promise.all([
      Vault.open(config, { logger, env }),
      Vault.open(config, { logger, env }),
    ]);
    expect([a.kind, b.kind]).toEqual(['file', 'file']);
    expect(readFileSync(join(home, 'vault-backend'), 'utf8')).toBe('file\n');
  });
});

describe('vault.backend keychain without a keychain', () => {
  it('is vault_unavailable, with no file vault made', async () => {
    const home = tempHome();
    const log = captureLogger();
    const error = await openError(open(home, 'keychain', log));
    expect(error.message).toContain('vault.backend is keychain');
    expect(log.at('error')[0]!.msg).toContain('set vault.backend: file');
    expect(existsSync(join(home, 'vault.enc'))).toBe(false);
    expect(existsSync(join(home, 'vault-backend'))).toBe(false);
  });
});

describe('vault.backend file', () => {
  it('does not write vault-backend', async () => {
    const home = tempHome();
    const vault = await open(home, 'file');
    expect(vault.kind).toBe('file');
    expect(vault.reason).toBe('vault.backend is file');
    expect(existsSync(join(home, 'vault-backend'))).toBe(false);
  });
});
