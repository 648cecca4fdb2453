import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { pathExists } from '../util/fs.js';
import { VaultBackendError, type VaultBackend } from './backend.js';
import { FileBackend, VAULT_FILE } from './file-backend.js';
import {
  KEYCHAIN_FAILURE_LABELS,
  KeychainBackend,
  type KeychainBackendOptions,
} from './keychain-backend.js';
import { resolveVaultKey } from './vault-key.js';

/** The file in the data folder that remembers what `auto` chose. */
export const BACKEND_CHOICE_FILE = 'vault-backend';

export interface SelectOptions {
  logger: Logger;
  env: NodeJS.ProcessEnv;
  keychain?: KeychainBackendOptions;
  /** Timeout for each step of the keychain probe. Default 2 s. */
  probeStepMs?: number;
}

export interface SelectedBackend {
  backend: VaultBackend;
  /** Why, in one sentence. */
  reason: string;
}

type Kind = VaultBackend['kind'];

/**
 * Picks the backend for `vault.backend`. `keychain` and `file` are taken as given; `auto`
 * probes the keychain once per data folder and writes the answer to `vault-backend`, so
 * the daemon and every CLI process agree from then on. A remembered keychain that stops
 * working is an error, never a quiet switch to an empty file vault.
 */
export async function selectBackend(
  config: Pick<LoadedConfig, 'home' | 'vault'>,
  options: SelectOptions,
): Promise<SelectedBackend> {
  switch (config.vault.backend) {
    case 'file':
      return { backend: await openFile(config, options), reason: 'vault.backend is file' };
    case 'keychain':
      return {
        backend: await openKeychain(options, 'vault.backend is keychain'),
        reason: 'vault.backend is keychain',
      };
    case 'auto':
      return selectAuto(config, options);
  }
}

async function selectAuto(
  config: Pick<LoadedConfig, 'home' | 'vault'>,
  options: SelectOptions,
): Promise<SelectedBackend> {
  await makeHome(config.home);
  const choicePath = join(config.home, BACKEND_CHOICE_FILE);
  const remembered = await readChoice(choicePath);
  if (remembered !== undefined) return openRemembered(remembered, choicePath, config, options);

  const decided = await decide(config, options);
  const winner = await writeChoice(choicePath, decided.kind);
  if (winner !== decided.kind) {
    // Another process on this data folder decided first: follow it, so all agree.
    void decided.backend?.close();
    return openRemembered(winner, choicePath, config, options);
  }

  const reason = `vault.backend is auto and ${decided.why}`;
  options.logger.info(
    { backend: decided.kind, file: choicePath },
    `vault: using the ${decided.kind === 'keychain' ? 'keychain' : `encrypted file ${join(config.home, VAULT_FILE)}`}: ${decided.why}`,
  );
  const backend = decided.kind === 'keychain' ? decided.backend! : await openFile(config, options);
  return { backend, reason };
}

interface Decision {
  kind: Kind;
  why: string;
  backend?: KeychainBackend;
}

async function decide(
  config: Pick<LoadedConfig, 'home' | 'vault'>,
  options: SelectOptions,
): Promise<Decision> {
  // Secrets already in a file vault must not be stranded by a keychain that appeared later.
  const vaultFile = join(config.home, VAULT_FILE);
  if (await pathExists(vaultFile)) return { kind: 'file', why: `${vaultFile} already exists` };

  const keychain = new KeychainBackend(options.keychain);
  const probe = await keychain.probe(options.probeStepMs);
  if (probe.ok) return { kind: 'keychain', why: 'the keychain probe succeeded', backend: keychain };
  void keychain.close();
  const label = KEYCHAIN_FAILURE_LABELS[probe.error.reason] ?? 'the keychain failed';
  return { kind: 'file', why: `the keychain is not usable (${label})` };
}

async function openRemembered(
  kind: Kind,
  choicePath: string,
  config: Pick<LoadedConfig, 'home' | 'vault'>,
  options: SelectOptions,
): Promise<SelectedBackend> {
  const reason = `vault.backend is auto and ${choicePath} records ${kind}, chosen when this data folder was first used`;
  options.logger.debug({ backend: kind, file: choicePath }, `vault: ${reason}`);
  if (kind === 'file') return { backend: await openFile(config, options), reason };
  return { backend: await openKeychain(options, `${choicePath} records keychain`), reason };
}

/** The keychain, proven usable by a probe; otherwise the probe's failure, with context. */
async function openKeychain(options: SelectOptions, why: string): Promise<KeychainBackend> {
  const keychain = new KeychainBackend(options.keychain);
  const probe = await keychain.probe(options.probeStepMs);
  if (probe.ok) return keychain;
  void keychain.close();
  throw new VaultBackendError(
    probe.error.reason,
    `${why}, but the keychain is not usable: ${probe.error.message}`,
    `${probe.error.hint}. grantd does not fall back to the file vault: the secrets are in the keychain`,
    probe.error,
  );
}

async function openFile(
  config: Pick<LoadedConfig, 'home' | 'vault'>,
  options: SelectOptions,
): Promise<FileBackend> {
  await makeHome(config.home);
  const key = await resolveVaultKey(config.vault.key, config.home, options.env);
  // Warned once, when the key is made; `grantd doctor` says it again on request.
  if (key.isBesideData) {
    options.logger[key.created ? 'warn' : 'debug'](
      { file: key.source },
      `vault: the vault key is ${key.source}, beside the vault it protects; move it out of the data folder and set vault.key to file:PATH or env:NAME`,
    );
  }
  return FileBackend.open({ home: config.home, key: key.key, keySource: key.source });
}

async function readChoice(path: string): Promise<Kind | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw choiceError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`, error);
  }
  const kind = text.trim();
  if (kind === 'keychain' || kind === 'file') return kind;
  throw choiceError(`${path} must contain keychain or file`);
}

/** Records the choice unless another process already did; returns the choice on disk. */
async function writeChoice(path: string, kind: Kind): Promise<Kind> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return (await readChoiceSoon(path)) ?? kind;
    }
    throw choiceError(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code}`, error);
  }
  try {
    await handle.writeFile(`${kind}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return kind;
}

/** The other process created the file an instant ago and may not have written it yet. */
async function readChoiceSoon(path: string): Promise<Kind | undefined> {
  for (let attempt = 0; attempt < 40; attempt += 1) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.trim() !== '') return readChoice(path);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw choiceError(`${path} is empty`);
}

async function makeHome(home: string): Promise<void> {
  try {
    await mkdir(home, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new VaultBackendError(
      'file_io',
      `cannot create the data folder ${home}: ${(error as NodeJS.ErrnoException).code}`,
      'check home (or GRANTD_HOME) and the folder permissions',
      error,
    );
  }
}

function choiceError(message: string, cause?: unknown): VaultBackendError {
  return new VaultBackendError(
    'backend_choice',
    message,
    `write keychain or file into ${BACKEND_CHOICE_FILE} in the data folder, or set vault.backend`,
    cause,
  );
}
