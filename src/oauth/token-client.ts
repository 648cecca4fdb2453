import { GrantdError } from '../errors.js';
import { fillTemplate } from '../providers/host-pattern.js';
import type { Provider } from '../providers/registry.js';
import type { OAuthSpec } from '../providers/schema.js';
import type { Upstream } from '../proxy/upstream.js';
import { OwnRequestError, sendOwnRequest, type OwnRequest } from './http.js';
import { parseTokenAnswer, TokenEndpointFailure, type TokenSet } from './token-response.js';

export type { TokenSet } from './token-response.js';

export interface TokenClientOptions {
  /** Every token call must finish within this. Default 15 s. */
  timeoutMs?: number;
  now?: () => number;
}

/** The form fields of one grant type (RFC 6749 sections 4.1.3, 4.4.2 and 6). */
export type TokenGrant =
  | { type: 'authorization_code'; code: string; redirectUri: string; codeVerifier?: string }
  | { type: 'refresh_token'; refreshToken: string }
  | { type: 'client_credentials'; scope?: string };

/** A token request ready to send, before transport. */
export interface TokenRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
}

/**
 * Talks to providers' token endpoints: the authorization-code exchange, the
 * refresh, and the client-credentials grant. Calls go through an Upstream,
 * so they trust what proxied calls trust and honour `resolve:`.
 */
export class TokenClient {
  readonly #upstream: Upstream;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(upstream: Upstream, options: TokenClientOptions = {}) {
    this.#upstream = upstream;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#now = options.now ?? Date.now;
  }

  /** Trades the code from the redirect for tokens. */
  exchangeCode(
    provider: Provider,
    params: Readonly<Record<string, string>>,
    code: { code: string; redirectUri: string; codeVerifier?: string },
  ): Promise<TokenSet> {
    return this.#call(provider, params, { type: 'authorization_code', ...code });
  }

  /**
   * Uses a refresh token. When the answer carries no new refresh token the
   * old one stays valid (RFC 6749 section 6), so it is kept in the result.
   */
  async refresh(
    provider: Provider,
    params: Readonly<Record<string, string>>,
    refreshToken: string,
  ): Promise<TokenSet> {
    const set = await this.#call(provider, params, { type: 'refresh_token', refreshToken });
    return { ...set, refreshToken: set.refreshToken ?? refreshToken };
  }

  /** Fetches an app-only token with the client's own credentials. */
  clientCredentials(
    provider: Provider,
    params: Readonly<Record<string, string>>,
    scope?: string,
  ): Promise<TokenSet> {
    return this.#call(provider, params, { type: 'client_credentials', scope });
  }

  async #call(
    provider: Provider,
    params: Readonly<Record<string, string>>,
    grant: TokenGrant,
  ): Promise<TokenSet> {
    const oauth = provider.spec.oauth;
    if (!oauth) throw failure(`${provider.spec.id} has no OAuth endpoints`);
    const request = buildTokenRequest(provider, params, grant);
    if (request.url.protocol === 'http:' && !provider.spec.allow_cleartext) {
      throw failure('the token endpoint is plain http and the provider does not allow cleartext');
    }
    const own: OwnRequest = { method: 'POST', ...request, timeoutMs: this.#timeoutMs };
    let answer;
    try {
      answer = await sendOwnRequest(this.#upstream, own);
    } catch (error) {
      const label = error instanceof OwnRequestError ? error.reason : 'request failed';
      throw failure(`token endpoint ${request.url.host}: ${label}`, error);
    }
    const contentType = answer.headers['content-type'];
    return parseTokenAnswer(
      oauth,
      { status: answer.status, contentType, body: answer.body },
      this.#now(),
    );
  }
}

/**
 * The POST for one grant type: a form body, the client authenticated as the
 * provider's `token_auth` says, and `Accept: application/json`, without
 * which GitHub answers form-encoded.
 */
export function buildTokenRequest(
  provider: Provider,
  params: Readonly<Record<string, string>>,
  grant: TokenGrant,
): TokenRequest {
  const oauth = provider.spec.oauth as OAuthSpec;
  const client = provider.client;
  if (!client) {
    throw failure(
      `no OAuth client: set providers.${provider.spec.id}.client_id and client_secret in the config`,
    );
  }
  const filled = fillTemplate(oauth.token_url, params);
  if (filled === undefined) throw failure('the token URL needs a param this grant lacks');
  let url: URL;
  try {
    url = new URL(filled);
  } catch {
    throw failure('the token URL is not a URL');
  }

  const form = new URLSearchParams(grantFields(grant, oauth));
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
  };
  // A public client (no secret) always names itself in the body (RFC 6749 section 3.2.1).
  if (oauth.token_auth === 'client_secret_basic' && client.secret !== undefined) {
    headers.Authorization = basicAuth(client.id, client.secret);
  } else {
    form.set('client_id', client.id);
    if (client.secret !== undefined) form.set('client_secret', client.secret);
  }
  return { url, headers, body: form.toString() };
}

function grantFields(grant: TokenGrant, oauth: OAuthSpec): [string, string][] {
  switch (grant.type) {
    case 'authorization_code': {
      const fields: [string, string][] = [
        ['grant_type', 'authorization_code'],
        ['code', grant.code],
        ['redirect_uri', grant.redirectUri],
      ];
      if (grant.codeVerifier !== undefined) fields.push(['code_verifier', grant.codeVerifier]);
      return fields;
    }
    case 'refresh_token':
      return [
        ['grant_type', 'refresh_token'],
        ['refresh_token', grant.refreshToken],
      ];
    case 'client_credentials': {
      const scope = grant.scope ?? joinScopes(oauth.scopes, oauth.scope_separator);
      return scope
        ? [
            ['grant_type', 'client_credentials'],
            ['scope', scope],
          ]
        : [['grant_type', 'client_credentials']];
    }
  }
}

/** Scopes as one parameter value. `+` is a space once form-decoded, so it is sent as one. */
export function joinScopes(scopes: readonly string[], separator: ' ' | ',' | '+'): string {
  return scopes.join(separator === '+' ? ' ' : separator);
}

/**
 * RFC 6749 section 2.3.1: id and secret are form-encoded before joining.
 * Characters outside the unreserved set are rare in both, and encodeURIComponent
 * leaves the unreserved ones alone, as providers that skip the step expect.
 */
function basicAuth(id: string, secret: string): string {
  const pair = `${encodeURIComponent(id)}:${encodeURIComponent(secret)}`;
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}

function failure(label: string, cause?: unknown): GrantdError {
  return new GrantdError('token_refresh_failed', undefined, {
    cause: new TokenEndpointFailure(label, { cause }),
  });
}
