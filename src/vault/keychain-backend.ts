import { randomBytes } from 'node:crypto';

import { VaultBackendError, type VaultBackend, type VaultFailureReason } from './backend.js';
import { KeyringThread, KeyringTimeoutError } from './keychain-thread.js';

export interface KeychainBackendOptions {
  /** The keychain service name entries are filed under. Default `grantd`. */
  service?: string;
  /** How long one keychain call may take before it counts as failed. Default 5 s. */
  timeoutMs?: number;
}

/** What a keychain probe found. */
export type ProbeResult = { ok: true } | { ok: false; error: VaultBackendError };

const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * Secrets in the platform keychain (macOS Keychain, Windows Credential Manager, the Secret
 * Service on Linux), one entry per id under the service `grantd`, account = id. A locked
 * keychain is an error, never an absent entry.
 */
export class KeychainBackend implements VaultBackend {
  readonly kind = 'keychain' as const;
  readonly service: string;
  readonly #timeoutMs: number;
  readonly #thread = new KeyringThread();

  constructor(options: KeychainBackendOptions = {}) {
    this.service = options.service ?? 'grantd';
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async get(id: string): Promise<string | undefined> {
    const value = await this.#call('get', id, undefined, this.#timeoutMs);
    return typeof value === 'string' ? value : undefined;
  }

  async set(id: string, value: string): Promise<void> {
    await this.#call('set', id, value, this.#timeoutMs);
  }

  async delete(id: string): Promise<void> {
    // false from the store means absent, which is not an error; a locked store throws.
    await this.#call('delete', id, undefined, this.#timeoutMs);
  }

  /**
   * Writes, reads back and deletes a random probe secret, each step within `stepMs`. A
   * read alone proves nothing: with no login keyring a read answers "absent" while a
   * write fails.
   */
  async probe(stepMs = 2_000): Promise<ProbeResult> {
    const id = `probe-${randomBytes(8).toString('hex')}`;
    const value = randomBytes(16).toString('base64');
    try {
      await this.#call('set', id, value, stepMs);
      const back = await this.#call('get', id, undefined, stepMs);
      await this.#call('delete', id, undefined, stepMs);
      if (back !== value) {
        return {
          ok: false,
          error: keychainError(
            'keychain_error',
            'the keychain returned a different value than was written',
          ),
        };
      }
      return { ok: true };
    } catch (error) {
      const failure = classifyKeyringError(error);
      // Clean up a probe that may have been written, unless the keychain hangs: another
      // wait would only delay the start.
      if (failure.reason !== 'keychain_timeout') {
        await this.#call('delete', id, undefined, stepMs).catch(() => undefined);
      }
      return { ok: false, error: failure };
    }
  }

  /** Stops the keychain worker thread. Not required: it never keeps the process alive. */
  close(): Promise<void> {
    return this.#thread.close();
  }

  async #call(
    op: 'get' | 'set' | 'delete',
    account: string,
    value: string | undefined,
    timeoutMs: number,
  ): Promise<unknown> {
    try {
      return await this.#thread.call({ op, service: this.service, account, value }, timeoutMs);
    } catch (error) {
      throw classifyKeyringError(error);
    }
  }
}

/** Short labels for why the keychain failed, for `reason` and log lines. */
export const KEYCHAIN_FAILURE_LABELS: Partial<Record<VaultFailureReason, string>> = {
  no_dbus: 'no D-Bus session bus',
  no_secret_service: 'no Secret Service on the session bus',
  keychain_locked: 'the keychain is locked',
  keychain_timeout: 'the keychain did not answer in time',
  keychain_error: 'the keychain failed',
};

const HINTS: Partial<Record<VaultFailureReason, string>> = {
  no_dbus:
    'run grantd in a desktop session (DBUS_SESSION_BUS_ADDRESS must reach the session bus), or set vault.backend: file',
  no_secret_service:
    'start a Secret Service such as gnome-keyring or KeePassXC, or set vault.backend: file',
  keychain_locked:
    'unlock the keychain (log in to the desktop session, or gnome-keyring-daemon --unlock), then retry',
  keychain_timeout: 'check that the keychain is running and not waiting on a prompt, then retry',
  keychain_error: 'check the system keychain, or set vault.backend: file',
};

/**
 * Reduces a keyring library error to a closed set of reasons. The messages matched are
 * those of @napi-rs/keyring 2.1.2 over libdbus and the Secret Service.
 */
export function classifyKeyringError(error: unknown): VaultBackendError {
  if (error instanceof VaultBackendError) return error;
  const message = error instanceof Error ? error.message : String(error);
  let reason: VaultFailureReason = 'keychain_error';
  if (
    error instanceof KeyringTimeoutError ||
    /did not receive a reply|timed? ?out/i.test(message)
  ) {
    reason = 'keychain_timeout';
  } else if (/DBUS_SESSION_BUS_ADDRESS|failed to connect to socket|autolaunch/i.test(message)) {
    reason = 'no_dbus';
  } else if (/org\.freedesktop\.secrets|ServiceUnknown|not provided by any/i.test(message)) {
    reason = 'no_secret_service';
  } else if (/locked|unlock|prompt/i.test(message)) {
    reason = 'keychain_locked';
  }
  return keychainError(reason, `${KEYCHAIN_FAILURE_LABELS[reason]}: ${message}`, error);
}

function keychainError(
  reason: VaultFailureReason,
  message: string,
  cause?: unknown,
): VaultBackendError {
  return new VaultBackendError(reason, message, HINTS[reason] ?? HINTS.keychain_error!, cause);
}
