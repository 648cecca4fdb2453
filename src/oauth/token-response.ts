import { GrantdError } from '../errors.js';
import type { OAuthSpec } from '../providers/schema.js';
import type { Credential } from '../vault/vault.js';
import { readPath, readText } from './dotted-path.js';

/** What a token endpoint issued. Times are ms since the epoch. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string | undefined;
  expiresAt: number | undefined;
  tokenType: string | undefined;
  scope: string | undefined;
  obtainedAt: number;
  /**
   * The whole parsed answer, for the principal and kept fields. It holds the
   * tokens: never log it or put it in an error.
   */
  response: Record<string, unknown>;
}

/** A token endpoint's answer, as far as parsing needs it. */
export interface TokenAnswer {
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

/**
 * Error codes that mean the refresh token (or code) is dead and only a new
 * consent helps: RFC 6749 section 5.2's `invalid_grant`, and the names
 * GitHub (`bad_refresh_token`) and Slack (`invalid_refresh_token`,
 * `token_revoked`) use for the same thing.
 */
const REAUTH_ERRORS = new Set([
  'invalid_grant',
  'bad_refresh_token',
  'invalid_refresh_token',
  'token_revoked',
]);

/** Visible ASCII only: a token with a space or line break would corrupt the header it goes in. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/**
 * The reason a token call failed, for logs: a fixed label plus the
 * provider's short error code. Never a body, token or secret.
 */
export class TokenEndpointFailure extends Error {
  constructor(label: string, options?: { cause?: unknown }) {
    super(label, options);
    this.name = 'TokenEndpointFailure';
  }
}

/**
 * Reads a token endpoint's answer. JSON, Slack's `{"ok": false}` and a
 * form-encoded body (GitHub without `Accept: application/json`) are all
 * understood. Throws GrantdError: `grant_needs_reauth` for a dead grant,
 * `token_refresh_failed` for anything else.
 */
export function parseTokenAnswer(oauth: OAuthSpec, answer: TokenAnswer, now: number): TokenSet {
  const doc = parseBody(answer);
  const error = providerError(doc);
  if (answer.status >= 500) throw failed(`HTTP ${answer.status}`);
  if (error !== undefined) {
    if (REAUTH_ERRORS.has(error)) {
      throw new GrantdError('grant_needs_reauth', undefined, {
        cause: new TokenEndpointFailure(`the provider answered ${error}`),
      });
    }
    throw failed(`the provider answered ${error} (HTTP ${answer.status})`);
  }
  if (answer.status < 200 || answer.status >= 300) throw failed(`HTTP ${answer.status}`);
  if (doc === undefined) throw failed('the answer is neither JSON nor form-encoded');

  const accessToken = pick(doc, oauth.token_path, 'access_token');
  if (typeof accessToken !== 'string' || !TOKEN_CHARS.test(accessToken)) {
    throw failed('the answer holds no usable access token');
  }
  const refreshToken = pick(doc, oauth.refresh_token_path, 'refresh_token');
  if (
    refreshToken !== undefined &&
    (typeof refreshToken !== 'string' || !TOKEN_CHARS.test(refreshToken))
  ) {
    throw failed('the answer holds an unusable refresh token');
  }
  return {
    accessToken,
    refreshToken: refreshToken === '' ? undefined : refreshToken,
    expiresAt: expiry(pick(doc, oauth.expires_in_path, 'expires_in'), now),
    tokenType: readText(doc, 'token_type'),
    scope: readScope(doc),
    obtainedAt: now,
    response: doc,
  };
}

/** The set as the vault stores it. */
export function toCredential(set: TokenSet): Extract<Credential, { kind: 'oauth' }> {
  const credential: Extract<Credential, { kind: 'oauth' }> = {
    kind: 'oauth',
    access_token: set.accessToken,
    obtained_at: set.obtainedAt,
  };
  if (set.refreshToken !== undefined) credential.refresh_token = set.refreshToken;
  if (set.expiresAt !== undefined) credential.expires_at = set.expiresAt;
  if (set.tokenType !== undefined) credential.token_type = set.tokenType;
  if (set.scope !== undefined) credential.scope = set.scope;
  return credential;
}

function failed(label: string): GrantdError {
  return new GrantdError('token_refresh_failed', undefined, {
    cause: new TokenEndpointFailure(label),
  });
}

function parseBody(answer: TokenAnswer): Record<string, unknown> | undefined {
  const text = answer.body.toString('utf8').trim();
  const type = (answer.contentType ?? '').toLowerCase();
  if (text.startsWith('{')) {
    try {
      const doc: unknown = JSON.parse(text);
      if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
        return doc as Record<string, unknown>;
      }
    } catch {
      return undefined;
    }
    return undefined;
  }
  // GitHub answers form-encoded unless asked for JSON; some servers label it text/plain.
  if (
    type.includes('x-www-form-urlencoded') ||
    (type.startsWith('text/plain') && text.includes('='))
  ) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  return undefined;
}

/** The provider's error code, reduced to a safe token for messages and logs. */
function providerError(doc: Record<string, unknown> | undefined): string | undefined {
  if (doc === undefined) return undefined;
  const slackFailed = doc.ok === false;
  const raw = doc.error;
  if (typeof raw !== 'string' || raw === '') return slackFailed ? 'ok=false' : undefined;
  return /^[A-Za-z0-9_.-]{1,64}$/.test(raw) ? raw : 'an unreadable error';
}

/** The value at `path`, or at the standard top-level name when the path is absent. */
function pick(doc: Record<string, unknown>, path: string, standard: string): unknown {
  const value = readPath(doc, path);
  return value === undefined || value === null ? (readPath(doc, standard) ?? undefined) : value;
}

/** `expires_in` as seconds, number or numeric text (form answers); anything else: no expiry. */
function expiry(value: unknown, now: number): number | undefined {
  const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return undefined;
  return now + Math.round(seconds * 1000);
}

/** `scope` as text; some servers answer a list. */
function readScope(doc: Record<string, unknown>): string | undefined {
  const value = doc.scope;
  if (Array.isArray(value)) {
    return value.filter((s) => typeof s === 'string').join(' ') || undefined;
  }
  return readText(doc, 'scope');
}
