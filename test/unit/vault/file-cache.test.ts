import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeEach, expect, it, vi } from 'vitest';

import { FileBackend } from '../../../src/vault/file-backend.js';
import { decodeVault } from '../../../src/vault/file-format.js';
import type * as FileFormat from '../../../src/vault/file-format.js';
import { randomKey, tempHome } from './util.js';

// Count decryptions: the point of the cache is that an unchanged file is not decrypted again.
vi.mock('../../../src/vault/file-format.js', async (importOriginal) => {
  const actual = await importOriginal<typeof FileFormat>();
  return { ...actual, decodeVault: vi.fn(actual.decodeVault) };
});

const decode = vi.mocked(decodeVault);

/** Two backends on one data folder, as two processes would have. */
async function backends(home: string) {
  const key = Buffer.from(randomKey(), 'base64');
  return [
    await FileBackend.open({ home, key, keySource: 'env:K' }),
    await FileBackend.open({ home, key, keySource: 'env:K' }),
  ] as const;
}

beforeEach(() => {
  decode.mockClear();
});

it('does not decrypt an unchanged file again', async () => {
  const [a] = await backends(tempHome());
  await a.set('gr_1', 'one');
  decode.mockClear();

  expect(await a.get('gr_1')).toBe('one');
  expect(await a.get('gr_1')).toBe('one');
  expect(await a.get('gr_2')).toBeUndefined();
  expect(decode).not.toHaveBeenCalled();
});

it("sees another backend's write on the next read", async () => {
  const [a, b] = await backends(tempHome());
  await a.set('gr_1', 'one');
  expect(await b.get('gr_1')).toBe('one');
  decode.mockClear();

  // b re-reads under the lock, but the file is the one it last decrypted.
  await b.set('gr_1', 'two');
  expect(decode).not.toHaveBeenCalled();
  // a's copy is of an older file: it decrypts once, then serves from the cache.
  expect(await a.get('gr_1')).toBe('two');
  expect(decode).toHaveBeenCalledTimes(1);
  expect(await a.get('gr_1')).toBe('two');
  expect(decode).toHaveBeenCalledTimes(1);
});

it('notices a file rewritten in place with the same size', async () => {
  const [a, b] = await backends(tempHome());
  await a.set('gr_1', 'one');
  await b.set('gr_1', 'two');
  const two = readFileSync(a.path);
  await b.set('gr_1', 'one');
  expect(await a.get('gr_1')).toBe('one');

  // Same inode, same size: only the nonce (and ctime) tell the versions apart.
  writeFileSync(a.path, two);
  expect(await a.get('gr_1')).toBe('two');
});

it('serves a write from this backend without decrypting it again', async () => {
  const home = tempHome();
  const [a] = await backends(home);
  await a.set('gr_1', 'one');
  await a.set('gr_2', 'two');
  decode.mockClear();
  expect(await a.get('gr_2')).toBe('two');
  expect(decode).not.toHaveBeenCalled();
  expect(join(home, 'vault.enc')).toBe(a.path);
});
