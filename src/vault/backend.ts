/** A raw secret store: opaque string values by id. */
export interface VaultBackend {
  readonly kind: 'keychain' | 'file';
  get(id: string): Promise<string | undefined>;
  set(id: string, value: string): Promise<void>;
  /** An absent id is not an error. */
  delete(id: string): Promise<void>;
}

/**
 * Why a backend failed, as a closed set of labels: logs and `grantd doctor` show these,
 * and the Vault uses them to tell one failure from the next.
 */
export type VaultFailureReason =
  | 'key_invalid'
  | 'file_corrupt'
  | 'entry_invalid'
  | 'file_io'
  | 'lock_busy'
  | 'no_dbus'
  | 'no_secret_service'
  | 'keychain_locked'
  | 'keychain_timeout'
  | 'keychain_error'
  | 'backend_choice'
  | 'backend_failed';

/**
 * A backend failure. The message names files and config keys only, never a value or
 * the key; `hint` says what the operator should do about it.
 */
export class VaultBackendError extends Error {
  readonly reason: VaultFailureReason;
  readonly hint: string;

  constructor(reason: VaultFailureReason, message: string, hint: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'VaultBackendError';
    this.reason = reason;
    this.hint = hint;
  }
}
