import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { GrantdError } from '../../../src/errors.js';
import { KeychainBackend } from '../../../src/vault/keychain-backend.js';
import { Vault, VaultBackendError } from '../../../src/vault/vault.js';
import { captureLogger, tempHome } from './util.js';

// A session bus that accepts connections and never answers: the worst case, where even
// constructing a keyring entry blocks. libdbus reads the address once per process, so it is
// set before any keyring call; vitest runs each test file in its own process.
const dir = mkdtempSync(join(tmpdir(), 'grantd-bus-'));
const busPath = join(dir, 'bus');
process.env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${busPath}`;

const sockets = new Set<Socket>();
const bus = createServer((socket) => {
  sockets.add(socket);
  socket.on('error', () => undefined);
  socket.resume();
});

beforeAll(async () => {
  await new Promise<void>((resolve) => bus.listen(busPath, resolve));
});

afterAll(async () => {
  // Hung keyring calls return once their connection drops; until then they hold up exit.
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => bus.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `work` and counts how often a 20 ms interval fired meanwhile. */
async function ticksDuring<T>(
  work: () => Promise<T>,
): Promise<{ ticks: number; ms: number; result: unknown }> {
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 20);
  const started = Date.now();
  const result = await work().catch((error: unknown) => error);
  clearInterval(timer);
  return { ticks, ms: Date.now() - started, result };
}

it('times out a keychain call that hangs, without blocking the event loop', async () => {
  const keychain = new KeychainBackend({ timeoutMs: 300 });
  const { ticks, ms, result } = await ticksDuring(() => keychain.get('gr_1'));
  expect(result).toBeInstanceOf(VaultBackendError);
  expect((result as VaultBackendError).reason).toBe('keychain_timeout');
  expect(ms).toBeGreaterThanOrEqual(290);
  expect(ms).toBeLessThan(2_000);
  expect(ticks).toBeGreaterThanOrEqual(5);
});

it('gives vault_unavailable through the Vault, and a fresh worker for the next call', async () => {
  const vault = new Vault(new KeychainBackend({ timeoutMs: 200 }), captureLogger().logger);
  for (let i = 0; i < 2; i += 1) {
    const { result, ms } = await ticksDuring(() => vault.get('gr_1', 1));
    expect(result).toBeInstanceOf(GrantdError);
    expect((result as GrantdError).code).toBe('vault_unavailable');
    expect(ms).toBeLessThan(2_000);
  }
});

it('makes auto pick the file when the keychain does not answer the probe', async () => {
  const log = captureLogger();
  const { result, ticks } = await ticksDuring(() =>
    Vault.open(
      { home: tempHome(), vault: { backend: 'auto', key: undefined } },
      { logger: log.logger, env: {}, probeStepMs: 300 },
    ),
  );
  expect(ticks).toBeGreaterThanOrEqual(5);
  expect(result).toBeInstanceOf(Vault);
  expect((result as Vault).kind).toBe('file');
  expect((result as Vault).reason).toBe(
    'vault.backend is auto and the keychain is not usable (the keychain did not answer in time)',
  );
});

it('is vault_unavailable when configured as keychain and the keychain hangs', async () => {
  const { result, ms } = await ticksDuring(() =>
    Vault.open(
      { home: tempHome(), vault: { backend: 'keychain' } },
      { logger: captureLogger().logger, probeStepMs: 300 },
    ),
  );
  expect(result).toBeInstanceOf(GrantdError);
  expect((result as GrantdError).message).toContain('did not answer');
  expect(ms).toBeLessThan(2_000);
});
