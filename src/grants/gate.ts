import type { LoadedConfig } from '../config/load.js';
import { GrantdError, type ErrorCode } from '../errors.js';
import { fillTemplate } from '../providers/host-pattern.js';
import {
  grantHostPatterns,
  injectionFor,
  matchesHost,
  type Provider,
  type ProviderRegistry,
} from '../providers/registry.js';
import type { InjectSpec } from '../providers/schema.js';
import { GRANT_ALIAS, GRANT_ID, type Grant } from '../store/grants.js';
import type { Caller } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { canonicalHost } from '../util/hosts.js';
import { checkPolicy, type Policy } from './policy.js';
import { parseProxyAuthorization } from './proxy-auth.js';
import type { TokenSource } from './tokens.js';

/** Who is calling, as the proxy credentials say. */
export interface Identity {
  caller: Caller | undefined;
  /** The proxy user name, which may name a grant. */
  user: string | undefined;
  /** Whether credentials were sent at all (a wrong key is not the same as none). */
  presented: boolean;
}

/** One request, as far as grant choice needs to know it. */
export interface CallInfo {
  identity: Identity;
  grantHeader: string | undefined;
  method: string;
  host: string;
  secure: boolean;
  path: string;
}

export interface InjectDecision {
  kind: 'inject';
  grant: Grant;
  provider: Provider;
  inject: InjectSpec;
  token: string;
  refreshed: boolean;
}

export type Decision =
  | { kind: 'pass' }
  | { kind: 'refuse'; code: ErrorCode; message?: string; grant?: Grant }
  | InjectDecision;

type ChosenBy = 'header' | 'user' | 'route';

const NO_IDENTITY: Identity = Object.freeze({
  caller: undefined,
  user: undefined,
  presented: false,
});
/** Entries a cache holds before it starts over: bounds memory under a flood of bad keys. */
const CACHE_LIMIT = 10_000;

/**
 * Decides, for each request, whether a grant applies and whether the caller
 * may use it. Every doubt refuses: an unknown grant, a grant of another app,
 * a host outside the provider, cleartext, a provider's own OAuth endpoints.
 * State is read from the store on every call, so a revocation made by
 * another process applies to the very next request.
 */
export class GrantGate {
  readonly #store: Store;
  readonly #providers: ProviderRegistry;
  readonly #tokens: TokenSource;
  readonly #authRequired: boolean;
  readonly #routes: ReadonlyMap<string, { grant: string; policy: Policy }>;
  // Answers from the store, valid while its change stamp stays the same.
  readonly #identities = new Map<string, Identity>();
  readonly #grants = new Map<string, Grant | null>();
  #stamp = -1;

  constructor(options: {
    config: Pick<LoadedConfig, 'auth' | 'routes'>;
    store: Store;
    providers: ProviderRegistry;
    tokens: TokenSource;
  }) {
    this.#store = options.store;
    this.#providers = options.providers;
    this.#tokens = options.tokens;
    this.#authRequired = options.config.auth.required;
    this.#routes = new Map(
      options.config.routes.map((route) => [
        `${route.app}\u0000${route.host}`,
        { grant: route.grant, policy: { methods: route.methods, paths: route.paths } },
      ]),
    );
  }

  get authRequired(): boolean {
    return this.#authRequired;
  }

  /** Verifies the key in a `Proxy-Authorization` value. */
  identify(proxyAuthorization: string | undefined): Identity {
    if (proxyAuthorization === undefined) return NO_IDENTITY;
    this.#freshen();
    const cached = this.#identities.get(proxyAuthorization);
    if (cached) return cached;
    const identity = this.#identifyUncached(proxyAuthorization);
    if (this.#identities.size >= CACHE_LIMIT) this.#identities.clear();
    this.#identities.set(proxyAuthorization, identity);
    return identity;
  }

  #identifyUncached(proxyAuthorization: string): Identity {
    const credentials = parseProxyAuthorization(proxyAuthorization);
    if (!credentials) return NO_IDENTITY;
    const caller = this.#store.keys.verify(credentials.password);
    const user = credentials.user || undefined;
    // With keys off, a password that is no key is no error: it is ignored.
    if (!caller && !this.#authRequired) return { caller, user, presented: false };
    return { caller, user, presented: true };
  }

  /** Whether a CONNECT to an intercepted host may go ahead with this identity. */
  admits(identity: Identity): boolean {
    return identity.caller !== undefined || (!this.#authRequired && !identity.presented);
  }

  /**
   * A token to retry with after the upstream rejected `decision.token` with a
   * 401, or undefined when the grant cannot refresh (a static key, no
   * refresh token). Another request's refresh in the meantime counts.
   */
  async tokenAfter401(decision: InjectDecision): Promise<string | undefined> {
    if (!this.#tokens.forceRefresh) return undefined;
    const fresh = await this.#tokens.forceRefresh(
      decision.grant,
      decision.provider,
      decision.token,
    );
    return fresh?.token;
  }

  async decide(call: CallInfo): Promise<Decision> {
    const { identity } = call;
    if (!identity.caller) {
      // A wrong key is always refused; no key at all is refused only where a
      // grant is asked for, so untagged calls still pass untouched.
      const keyless = !this.#authRequired && !identity.presented;
      if (identity.presented || (call.grantHeader !== undefined && !keyless)) {
        return { kind: 'refuse', code: 'proxy_auth_required' };
      }
      if (call.grantHeader === undefined) return { kind: 'pass' };
    }
    const chosen = this.#choose(call);
    if (chosen.kind !== 'grant') return chosen;
    return this.#authorize(call, chosen.grant, chosen.by, chosen.routePolicy);
  }

  #choose(
    call: CallInfo,
  ):
    | { kind: 'grant'; grant: Grant; by: ChosenBy; routePolicy?: Policy }
    | Exclude<Decision, { kind: 'inject' }> {
    const appId = call.identity.caller?.appId;
    if (call.grantHeader !== undefined) {
      const ref = call.grantHeader.trim();
      if (!GRANT_ID.test(ref) && !GRANT_ALIAS.test(ref)) {
        return {
          kind: 'refuse',
          code: 'bad_request',
          message: 'The Grantd-Grant header is not a grant id or alias.',
        };
      }
      const grant = this.#find(appId, ref);
      return grant
        ? { kind: 'grant', grant, by: 'header' }
        : { kind: 'refuse', code: 'grant_not_found' };
    }

    const user = call.identity.user;
    if (user !== undefined && (GRANT_ID.test(user) || GRANT_ALIAS.test(user))) {
      const grant = this.#find(appId, user);
      if (grant) return { kind: 'grant', grant, by: 'user' };
    }

    const appName = call.identity.caller?.appName;
    const routed =
      appName === undefined ? undefined : this.#routes.get(`${appName}\u0000${call.host}`);
    if (routed !== undefined) {
      const grant = this.#find(appId, routed.grant);
      return grant
        ? { kind: 'grant', grant, by: 'route', routePolicy: routed.policy }
        : { kind: 'refuse', code: 'grant_not_found' };
    }
    return { kind: 'pass' };
  }

  /**
   * Drops cached identities and grants when the store changed since they were
   * read: one cheap counter check per request instead of two queries.
   */
  #freshen(): void {
    const stamp = this.#store.turnChangeStamp();
    if (stamp === this.#stamp) return;
    this.#stamp = stamp;
    this.#identities.clear();
    this.#grants.clear();
  }

  /** With keys off (`auth.required: false`) and no key, a reference may name any app's grant. */
  #find(appId: string | undefined, ref: string): Grant | undefined {
    if (appId !== undefined) {
      this.#freshen();
      const key = `${appId}\u0000${ref}`;
      if (this.#grants.has(key)) return this.#grants.get(key) ?? undefined;
      const grant = this.#store.grants.find(appId, ref);
      if (this.#grants.size >= CACHE_LIMIT) this.#grants.clear();
      this.#grants.set(key, grant ?? null);
      return grant;
    }
    const matches = this.#store.grants
      .list()
      .filter((grant) => grant.id === ref || grant.alias === ref);
    return matches.length === 1 ? matches[0] : undefined;
  }

  async #authorize(
    call: CallInfo,
    grant: Grant,
    by: ChosenBy,
    routePolicy: Policy | undefined,
  ): Promise<Decision> {
    const provider = this.#providers.get(grant.provider);
    if (!provider) {
      return {
        kind: 'refuse',
        code: 'grant_not_found',
        message: "The grant's provider is not configured.",
        grant,
      };
    }
    const patterns = grantHostPatterns(provider.spec, grant.params, grant.extraHosts);
    if (!matchesHost(call.host, patterns)) {
      // A grant named by the proxy user applies only to its provider's hosts;
      // elsewhere the call goes out untouched, as the contract says.
      if (by === 'user') return { kind: 'pass' };
      return { kind: 'refuse', code: 'host_not_allowed', grant };
    }
    if (isOAuthEndpoint(provider, grant, call.host, call.path)) {
      return {
        kind: 'refuse',
        code: 'host_not_allowed',
        message: "grantd never sends a grant's token to its provider's OAuth endpoints.",
        grant,
      };
    }
    // The grant's own rules, then the route's: each must allow the request.
    for (const policy of [grant.policy, routePolicy ?? {}]) {
      const verdict = checkPolicy(policy, call.method, call.path);
      if (!verdict.allowed) {
        return { kind: 'refuse', code: 'policy_denied', message: `${verdict.reason}.`, grant };
      }
    }
    if (!call.secure && !provider.spec.allow_cleartext) {
      return { kind: 'refuse', code: 'cleartext_refused', grant };
    }
    if (grant.status === 'needs_reauth') {
      return { kind: 'refuse', code: 'grant_needs_reauth', grant };
    }

    try {
      const fresh = await this.#tokens.tokenFor(grant, provider);
      return {
        kind: 'inject',
        grant,
        provider,
        inject: injectionFor(provider.spec, grant.kind),
        token: fresh.token,
        refreshed: fresh.refreshed,
      };
    } catch (error) {
      if (error instanceof GrantdError) {
        return { kind: 'refuse', code: error.code, message: error.message, grant };
      }
      throw error;
    }
  }
}

/** Whether host and path are the provider's authorize or token endpoint. */
function isOAuthEndpoint(provider: Provider, grant: Grant, host: string, path: string): boolean {
  const oauth = provider.spec.oauth;
  if (!oauth) return false;
  const pathOnly = path.split('?')[0] ?? path;
  for (const template of [oauth.authorize_url, oauth.token_url]) {
    const filled = fillTemplate(template, grant.params);
    if (!filled) continue;
    let url: URL;
    try {
      url = new URL(filled);
    } catch {
      continue;
    }
    if (
      canonicalHost(url.hostname) === host &&
      pathOnly.replace(/\/+$/, '') === url.pathname.replace(/\/+$/, '')
    ) {
      return true;
    }
  }
  return false;
}
