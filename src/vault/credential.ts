/** What a grant's secret is. Times are ms since the epoch. */
export type Credential =
  | { kind: 'static'; token: string }
  | {
      kind: 'oauth';
      access_token: string;
      refresh_token?: string;
      expires_at?: number;
      token_type?: string;
      scope?: string;
      obtained_at: number;
    };

type OAuthCredential = Extract<Credential, { kind: 'oauth' }>;

const OPTIONAL_STRINGS = ['refresh_token', 'token_type', 'scope'] as const;

/**
 * A copy with only the known fields, so a caller's extra properties never reach the vault.
 * Throws a TypeError naming the bad field (never its value) for a malformed credential.
 */
export function normalizeCredential(credential: Credential): Credential {
  const problem = checkCredential(credential);
  if (problem !== undefined) throw new TypeError(`not a valid credential: ${problem}`);
  if (credential.kind === 'static') return { kind: 'static', token: credential.token };

  const out: OAuthCredential = {
    kind: 'oauth',
    access_token: credential.access_token,
    obtained_at: credential.obtained_at,
  };
  for (const field of OPTIONAL_STRINGS) {
    if (credential[field] !== undefined) out[field] = credential[field];
  }
  if (credential.expires_at !== undefined) out.expires_at = credential.expires_at;
  return out;
}

/** A stored value read back as a credential; undefined when it is not one (a damaged entry). */
export function toCredential(value: unknown): Credential | undefined {
  if (checkCredential(value) !== undefined) return undefined;
  return normalizeCredential(value as Credential);
}

/** What is wrong with `value` as a credential, naming the field but never its content. */
function checkCredential(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'not an object';
  const record = value as Record<string, unknown>;
  if (record.kind === 'static') return isText(record.token) ? undefined : 'token';
  if (record.kind !== 'oauth') return 'kind';

  if (!isText(record.access_token)) return 'access_token';
  if (!isTime(record.obtained_at)) return 'obtained_at';
  if (record.expires_at !== undefined && !isTime(record.expires_at)) return 'expires_at';
  for (const field of OPTIONAL_STRINGS) {
    if (record[field] !== undefined && typeof record[field] !== 'string') return field;
  }
  return undefined;
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
