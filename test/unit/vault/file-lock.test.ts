import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { GrantdError } from '../../../src/errors.js';
import { acquireFileLock } from '../../../src/vault/file-lock.js';
import { FileBackend } from '../../../src/vault/file-backend.js';
import { Vault } from '../../../src/vault/vault.js';
import { captureLogger, listFiles, randomKey, tempHome } from './util.js';

/** The pid of a process that has exited, so no live process holds it (barring reuse). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

async function backend(home: string, lock = {}) {
  return FileBackend.open({
    home,
    key: Buffer.from(randomKey(), 'base64'),
    keySource: 'env:K',
    lock,
  });
}

function lockAt(home: string, text: string, ageMs = 0): string {
  mkdirSync(home, { recursive: true });
  const path = join(home, 'vault.enc.lock');
  writeFileSync(path, text);
  if (ageMs > 0) {
    const then = (Date.now() - ageMs) / 1000;
    utimesSync(path, then, then);
  }
  return path;
}

it('writes its pid into the lock and removes the lock on release', async () => {
  const home = tempHome();
  mkdirSync(home, { recursive: true });
  const path = join(home, 'vault.enc.lock');
  const lock = await acquireFileLock(path);
  expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(String(process.pid));
  await lock.release();
  expect(existsSync(path)).toBe(false);
});

it('breaks a lock left by a dead process on this host', async () => {
  const home = tempHome();
  lockAt(home, `${deadPid()}\n${hostname()}\n`);
  const files = await backend(home, { waitMs: 2_000 });
  await files.set('gr_1', 'one');
  expect(await files.get('gr_1')).toBe('one');
  expect(listFiles(home)).toEqual(['vault.enc']);
});

it('breaks a lock older than the stale age even when its pid is alive', async () => {
  const home = tempHome();
  lockAt(home, `${process.pid}\n${hostname()}\n`, 60_000);
  const files = await backend(home, { waitMs: 2_000 });
  await files.set('gr_1', 'one');
  expect(listFiles(home)).toEqual(['vault.enc']);
});

it('waits for a live lock, then fails with vault_unavailable naming the lock file', async () => {
  const home = tempHome();
  // The parent (vitest) is alive and is not us.
  const path = lockAt(home, `${process.ppid}\n${hostname()}\n`);
  const log = captureLogger();
  const vault = new Vault(await backend(home, { waitMs: 300 }), log.logger);

  const started = Date.now();
  const error = await vault.put('gr_1', { kind: 'static', token: 't' }, 1).catch((e: unknown) => e);
  expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  expect(error).toBeInstanceOf(GrantdError);
  expect((error as GrantdError).code).toBe('vault_unavailable');
  expect(log.at('error')[0]!.msg).toContain(path);
  // The lock is not ours: it stays.
  expect(readFileSync(path, 'utf8')).toBe(`${process.ppid}\n${hostname()}\n`);
});

it('breaks a lock left by an earlier process with our host and pid (a restarted container)', async () => {
  const home = tempHome();
  lockAt(home, `${process.pid}\n${hostname()}\nan-earlier-process\n`);
  const files = await backend(home, { waitMs: 200 });
  await files.set('gr_1', 'one');
  expect(await files.get('gr_1')).toBe('one');
});

it('does not trust a dead pid from another host, only the lock age', async () => {
  const home = tempHome();
  lockAt(home, `${deadPid()}\nsome-other-host\n`);
  const files = await backend(home, { waitMs: 200 });
  await expect(files.set('gr_1', 'one')).rejects.toThrow(/lock/);
});

it('serialises writers in one process without losing any', async () => {
  const home = tempHome();
  const files = await backend(home);
  await Promise.all(Array.from({ length: 40 }, (_, i) => files.set(`gr_${i}`, `v${i}`)));
  for (let i = 0; i < 40; i += 1) expect(await files.get(`gr_${i}`)).toBe(`v${i}`);
});
