import type { LoadedConfig } from '../config/load.js';
import { GrantdError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { VaultBackendError, type VaultBackend } from './backend.js';
import { normalizeCredential, toCredential, type Credential } from './credential.js';
import type { KeychainBackendOptions } from './keychain-backend.js';
import { selectBackend } from './select-backend.js';

export type { Credential } from './credential.js';
export type { VaultBackend, VaultFailureReason } from './backend.js';
export { VaultBackendError } from './backend.js';
export { FileBackend } from './file-backend.js';
export { KeychainBackend } from './keychain-backend.js';

export interface VaultOpenOptions {
  logger: Logger;
  /** Where `vault.key: env:NAME` is looked up. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Service name and call timeout for the keychain; for tests. */
  keychain?: KeychainBackendOptions;
  /** Timeout for each step of the keychain probe. Default 2 s. */
  probeStepMs?: number;
}

interface Cached {
  version: number;
  credential: Credential;
}

type Op = 'read' | 'write' | 'delete';

const CLIENT_MESSAGES: Record<Op, string> = {
  read: 'The vault cannot be read.',
  write: 'The vault cannot be written.',
  delete: 'The vault cannot be written.',
};

/**
 * Grant credentials by grant id, over a keychain or encrypted-file backend. Each stored
 * value carries the version it was written under, so a read that races a write in
 * another process is never cached under the newer version.
 */
export class Vault {
  readonly kind: 'keychain' | 'file';
  /** Why this backend was chosen, one sentence (for `grantd doctor` and the start log). */
  readonly reason: string;
  readonly #backend: VaultBackend;
  readonly #logger: Logger;
  readonly #cache = new Map<string, Cached>();
  /** Failures already logged, so a broken vault logs once, not once per request. */
  readonly #logged = new Set<string>();

  constructor(
    backend: VaultBackend,
    logger: Logger,
    reason = `a ${backend.kind} backend was given`,
  ) {
    this.#backend = backend;
    this.#logger = logger;
    this.kind = backend.kind;
    this.reason = reason;
  }

  /**
   * Picks and opens the backend for this config: `vault.backend` keychain or file as
   * given; auto probes the keychain once per data folder and remembers the answer in
   * `${home}/vault-backend`. Throws GrantdError('vault_unavailable') naming what to fix.
   */
  static async open(
    config: Pick<LoadedConfig, 'home' | 'vault'>,
    options: VaultOpenOptions,
  ): Promise<Vault> {
    const { logger } = options;
    try {
      const selected = await selectBackend(config, { ...options, env: options.env ?? process.env });
      return new Vault(selected.backend, logger, selected.reason);
    } catch (error) {
      if (!(error instanceof VaultBackendError)) throw error;
      logger.error(
        { reason: error.reason, err: error },
        `vault: cannot open: ${error.message}; ${error.hint}`,
      );
      // Said to the operator at start, not to a client: the detail helps and holds no secret.
      throw new GrantdError('vault_unavailable', `The vault cannot be opened: ${error.message}`, {
        cause: error,
      });
    }
  }

  /**
   * The credential for `id`, from the cache when `version` matches what was cached, else
   * from the backend. undefined when absent. Failures throw GrantdError('vault_unavailable')
   * with a client-safe message and the detail as `cause`.
   */
  async get(id: string, version: number): Promise<Credential | undefined> {
    const hit = this.#cache.get(id);
    if (hit !== undefined && hit.version === version) return { ...hit.credential };

    let text: string | undefined;
    try {
      text = await this.#backend.get(id);
    } catch (error) {
      throw this.#fail('read', id, error);
    }
    this.#succeeded();
    if (text === undefined) {
      this.#cache.delete(id);
      return undefined;
    }

    const stored = parseStored(text);
    if (stored === undefined) {
      throw this.#fail(
        'read',
        id,
        new VaultBackendError(
          'entry_invalid',
          `the stored credential for ${id} is damaged`,
          'store the credential for this grant again',
        ),
      );
    }
    // Cached under the version it was written with: if another process has bumped the
    // version but not yet written, the next get with the new version reads again.
    this.#cache.set(id, stored);
    return { ...stored.credential };
  }

  /** Stores (replaces) the credential under `version` and updates the cache. */
  async put(id: string, credential: Credential, version: number): Promise<void> {
    const stored: Cached = { version, credential: normalizeCredential(credential) };
    try {
      await this.#backend.set(id, JSON.stringify(stored));
    } catch (error) {
      // The write may or may not have landed; the next get must ask the backend.
      this.#cache.delete(id);
      throw this.#fail('write', id, error);
    }
    this.#succeeded();
    this.#cache.set(id, stored);
  }

  /** Removes the credential; an absent id is not an error. */
  async delete(id: string): Promise<void> {
    this.#cache.delete(id);
    try {
      await this.#backend.delete(id);
    } catch (error) {
      throw this.#fail('delete', id, error);
    }
    this.#succeeded();
  }

  /** Logs a failure once per distinct cause and returns the error for the caller. */
  #fail(op: Op, id: string, error: unknown): GrantdError {
    const failure =
      error instanceof VaultBackendError
        ? error
        : new VaultBackendError(
            'backend_failed',
            errorMessage(error),
            'check the vault backend',
            error,
          );
    const signature = `${failure.reason}\u0000${failure.message}`;
    if (!this.#logged.has(signature)) {
      this.#logged.add(signature);
      this.#logger.error(
        { backend: this.kind, op, grant: id, reason: failure.reason, err: failure },
        `vault ${op} failed: ${failure.message}; ${failure.hint}`,
      );
    }
    return new GrantdError('vault_unavailable', CLIENT_MESSAGES[op], { cause: failure });
  }

  /** A working vault again: the next failure, even a repeat, is news worth a log line. */
  #succeeded(): void {
    this.#logged.clear();
  }
}

/** A backend value: `{"version": n, "credential": {...}}`. */
function parseStored(text: string): Cached | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object') return undefined;
  const { version, credential } = doc as { version?: unknown; credential?: unknown };
  if (typeof version !== 'number') return undefined;
  const parsed = toCredential(credential);
  return parsed === undefined ? undefined : { version, credential: parsed };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
