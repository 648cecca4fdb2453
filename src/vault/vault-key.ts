import { randomBytes } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { expandHome } from '../config/paths.js';
import { pathExists } from '../util/fs.js';
import { VaultBackendError } from './backend.js';
import { KEY_BYTES, VAULT_FILE } from './file-format.js';

/** The key for the file vault and where it came from. */
export interface VaultKey {
  key: Buffer;
  /** `env:NAME`, `file:PATH`, or the generated key file's path. */
  source: string;
  /** True when the key was generated and sits in the data folder beside the vault. */
  isBesideData: boolean;
  /** True when this call generated it (the moment to warn). */
  created?: boolean;
}

/** The generated key's file name in the data folder. */
export const GENERATED_KEY_FILE = 'vault.key';

/**
 * Resolves `vault.key` (`env:NAME` or `file:PATH`); without one, reads or creates
 * `${home}/vault.key`. Errors name the config key and the file, never the value.
 */
export async function resolveVaultKey(
  spec: string | undefined,
  home: string,
  env: NodeJS.ProcessEnv,
): Promise<VaultKey> {
  if (spec === undefined) {
    return loadGeneratedKey(join(home, GENERATED_KEY_FILE), join(home, VAULT_FILE));
  }

  if (spec.startsWith('env:')) {
    const name = spec.slice('env:'.length);
    const value = env[name];
    if (value === undefined || value.trim() === '') {
      throw keyError(`vault.key: environment variable ${name} is not set`);
    }
    return {
      key: decodeKey(value, `vault.key: the value of ${name}`),
      source: spec,
      isBesideData: false,
    };
  }

  if (spec.startsWith('file:')) {
    const path = resolve(expandHome(spec.slice('file:'.length)));
    const text = await readKeyFile(path, `vault.key: cannot read key file ${path}`);
    return { key: decodeKey(text, `vault.key: ${path}`), source: spec, isBesideData: false };
  }

  throw keyError('vault.key: expected env:NAME or file:PATH');
}

/**
 * 32 bytes as base64 (standard or URL-safe, padding optional) or 64 hex characters.
 * Surrounding whitespace is dropped: key files usually end in a newline.
 */
export function decodeKey(text: string, what: string): Buffer {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    const key = Buffer.from(value, 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  throw keyError(
    `${what} is not a ${KEY_BYTES}-byte key: give it as base64 (44 characters) or hex (64 characters)`,
  );
}

async function loadGeneratedKey(path: string, vaultPath: string): Promise<VaultKey> {
  const what = `vault.key is not set and ${path}`;
  // The key is made before the first write, so a vault without one lost its key: a new key
  // could never open it, and would sit where the restored one has to go.
  if (!(await pathExists(path)) && (await pathExists(vaultPath))) {
    throw keyError(
      `${what} is missing, but ${vaultPath} exists: restore the key file or set vault.key`,
    );
  }
  const created = await createKeyFile(path);
  // Another process may have created the file an instant ago and not yet written it.
  let text = created ?? (await readKeyFile(path, `cannot read ${path}`));
  for (let attempt = 0; text === '' && attempt < 20; attempt += 1) {
    await sleep(25);
    text = await readKeyFile(path, `cannot read ${path}`);
  }
  return {
    key: decodeKey(text, what),
    source: path,
    isBesideData: true,
    created: created !== undefined,
  };
}

/** Creates the key file exclusively; undefined when it already exists. */
async function createKeyFile(path: string): Promise<string | undefined> {
  let handle;
  try {
    // O_EXCL: of two processes starting on a fresh data folder, only one makes the key.
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw ioError(`cannot create ${path}`, error);
  }
  const text = `${randomBytes(KEY_BYTES).toString('base64')}\n`;
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (error) {
    // An empty key file would fail every later start; leave none rather than a broken one.
    await handle.close();
    await rm(path, { force: true });
    throw ioError(`cannot write ${path}`, error);
  }
  await handle.close();
  return text;
}

async function readKeyFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw keyError(`${what}: ${code}`, error);
  }
}

function keyError(message: string, cause?: unknown): VaultBackendError {
  return new VaultBackendError(
    'key_invalid',
    message,
    'check vault.key: it must name a 32-byte key as env:NAME or file:PATH',
    cause,
  );
}

function ioError(message: string, cause: unknown): VaultBackendError {
  const code = (cause as NodeJS.ErrnoException).code ?? 'unknown error';
  return new VaultBackendError(
    'file_io',
    `${message}: ${code}`,
    'check that the data folder exists and is writable by grantd',
    cause,
  );
}
