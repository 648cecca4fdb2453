import { fillTemplate } from '../providers/host-pattern.js';
import type { ProviderSpec } from '../providers/schema.js';
import type { Pkce } from './pkce.js';
import { joinScopes } from './token-client.js';

export interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  state: string;
  /** The scopes to ask for; the provider's defaults when the user gave none. */
  scopes: readonly string[];
  /** The grant's params, filling `{name}` in the URL and in `authorize_params`. */
  params: Readonly<Record<string, string>>;
  /** Sent unless the provider's `pkce` is `none`. */
  pkce: Pkce | undefined;
}

/**
 * The URL the user's browser opens (RFC 6749 section 4.1.1): the provider's
 * authorize endpoint with its params filled in, the scopes joined as the
 * provider wants them, its fixed extra parameters, and the PKCE challenge.
 * Throws an Error naming the missing param when a template cannot be filled.
 */
export function buildAuthorizeUrl(spec: ProviderSpec, request: AuthorizeRequest): URL {
  const oauth = spec.oauth;
  if (!oauth) throw new Error(`${spec.id} has no OAuth endpoints`);
  const url = new URL(filled(oauth.authorize_url, request.params, 'authorize_url'));
  const query = url.searchParams;

  query.set('response_type', 'code');
  query.set('client_id', request.clientId);
  query.set('redirect_uri', request.redirectUri);
  query.set('state', request.state);
  if (request.scopes.length > 0) {
    query.set(oauth.scope_param, joinScopes(request.scopes, oauth.scope_separator));
  }
  for (const [name, value] of Object.entries(oauth.authorize_params)) {
    query.set(name, filled(value, request.params, `authorize_params.${name}`));
  }
  if (request.pkce !== undefined) {
    query.set('code_challenge', request.pkce.challenge);
    query.set('code_challenge_method', request.pkce.method);
  }
  return url;
}

/** Whether the provider takes a PKCE challenge (`required` or `supported`). */
export function usesPkce(spec: ProviderSpec): boolean {
  return spec.oauth !== undefined && spec.oauth.pkce !== 'none';
}

/** Splits `--scopes "a b,c"`: spaces and commas both separate. */
export function parseScopes(text: string | undefined, defaults: readonly string[]): string[] {
  if (text === undefined) return [...defaults];
  return text.split(/[\s,]+/).filter((scope) => scope !== '');
}

function filled(template: string, params: Readonly<Record<string, string>>, what: string): string {
  const value = fillTemplate(template, params);
  if (value === undefined) throw new Error(`${what} needs a param the grant lacks`);
  return value;
}
