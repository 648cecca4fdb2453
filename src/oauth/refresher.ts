import { setTimeout as sleep } from 'node:timers/promises';

import { GrantdError } from '../errors.js';
import type { FreshToken, TokenSource } from '../grants/tokens.js';
import type { Logger } from '../log/logger.js';
import type { Provider } from '../providers/registry.js';
import type { Grant } from '../store/grants.js';
import type { Store } from '../store/store.js';
import type { Vault } from '../vault/vault.js';
import { isExpired, isFresh, type OAuthCredential } from './freshness.js';
import { lockOwner, SqliteLocks } from './refresh-lock.js';
import type { TokenClient, TokenSet } from './token-client.js';
import { toCredential } from './token-response.js';

export interface OAuthTokenSourceOptions {
  vault: Vault;
  store: Store;
  client: TokenClient;
  logger: Logger;
  /** After a failed refresh, calls for that grant fail fast for this long. Default 5 s. */
  cooldownMs?: number;
  /** A cross-process refresh lock frees itself this long after a holder died. Default 30 s. */
  lockTtlMs?: number;
  /** How long to wait for another process's refresh of the same grant. Default 20 s. */
  lockWaitMs?: number;
  /** At most one `forceRefresh` per grant in this long, against 401 loops. Default 10 s. */
  forceIntervalMs?: number;
  /** The clock for expiry and cool-down (tests move it); locks use real time. */
  now?: () => number;
  /** Told of every refresh this process made: `ok`, `needs_reauth` or `failed` (metrics). */
  onRefresh?: (provider: string, result: RefreshResult) => void;
}

export type RefreshResult = 'ok' | 'needs_reauth' | 'failed';

/** Decides whether a credential already satisfies a caller, so no refresh is needed. */
type Satisfied = (current: OAuthCredential, now: number) => boolean;

interface Cooling {
  until: number;
  error: GrantdError;
}

/**
 * The daemon's TokenSource: static credentials straight from the vault,
 * OAuth access tokens refreshed shortly before they expire.
 *
 * A refresh runs once per grant at a time: requests in this process share
 * one promise, and processes sharing the data folder take a lock row in
 * SQLite, then re-read the grant and skip the call when another process has
 * refreshed already. The new credential, rotated refresh token included, is
 * in the vault before any caller sees the new access token, so a crash never
 * loses the only copy of a refresh token the provider has already rotated.
 *
 * Client-credentials grants (`auth: oauth2_client_credentials`) fetch a new
 * token the same way, with the client's own credentials instead of a
 * refresh token, and keep it in the vault like any other, so every process
 * and restart shares it.
 */
export class OAuthTokenSource implements TokenSource {
  readonly #vault: Vault;
  readonly #store: Store;
  readonly #client: TokenClient;
  readonly #logger: Logger;
  readonly #locks: SqliteLocks;
  readonly #cooldownMs: number;
  readonly #lockTtlMs: number;
  readonly #lockWaitMs: number;
  readonly #forceIntervalMs: number;
  readonly #now: () => number;
  readonly #onRefresh: (provider: string, result: RefreshResult) => void;
  readonly #inflight = new Map<string, Promise<FreshToken>>();
  readonly #cooling = new Map<string, Cooling>();
  readonly #lastForced = new Map<string, number>();

  constructor(options: OAuthTokenSourceOptions) {
    this.#vault = options.vault;
    this.#store = options.store;
    this.#client = options.client;
    this.#logger = options.logger;
    this.#locks = new SqliteLocks(options.store.db);
    this.#cooldownMs = options.cooldownMs ?? 5_000;
    this.#lockTtlMs = options.lockTtlMs ?? 30_000;
    this.#lockWaitMs = options.lockWaitMs ?? 20_000;
    this.#forceIntervalMs = options.forceIntervalMs ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#onRefresh = options.onRefresh ?? (() => undefined);
  }

  async tokenFor(grant: Grant, provider: Provider): Promise<FreshToken> {
    const stored = await this.#vault.get(grant.id, grant.secretVersion);
    if (stored?.kind === 'static') return { token: stored.token, refreshed: false };
    if (!isRenewable(grant, provider)) {
      if (!stored) throw noCredential();
      return { token: stored.access_token, refreshed: false };
    }
    if (!stored) {
      if (!isClientCredentials(provider)) throw noCredential();
      return this.#renew(grant, provider, (current, now) => isFresh(provider.spec, current, now));
    }

    const now = this.#now();
    if (isFresh(provider.spec, stored, now)) {
      return { token: stored.access_token, refreshed: false };
    }
    if (!canRenew(provider, stored)) return this.#withoutRenewal(grant, stored, now);
    try {
      return await this.#renew(
        grant,
        provider,
        (current, at) =>
          current.access_token !== stored.access_token && isFresh(provider.spec, current, at),
      );
    } catch (error) {
      // A token inside its refresh margin still works: serve it while the endpoint is down.
      if (isRefreshFailure(error) && !isExpired(stored, this.#now())) {
        return { token: stored.access_token, refreshed: false };
      }
      throw error;
    }
  }

  /**
   * For the proxy's retry after an upstream 401 on a request it can replay.
   * When the vault no longer holds `rejectedToken` (another request refreshed
   * meanwhile), the newer token comes back without a call. Otherwise the
   * grant is refreshed now, whatever its expiry says. undefined when the
   * grant cannot refresh (a static credential, no refresh token) or was
   * forced less than `forceIntervalMs` ago, so a token the upstream keeps
   * refusing costs one refresh, not one per request. Throws GrantdError like
   * `tokenFor` (grant_needs_reauth, token_refresh_failed, vault_unavailable).
   */
  async forceRefresh(
    grant: Grant,
    provider: Provider,
    rejectedToken: string,
  ): Promise<FreshToken | undefined> {
    if (!isRenewable(grant, provider)) return undefined;
    const stored = await this.#vault.get(grant.id, grant.secretVersion);
    if (stored?.kind !== 'oauth') return undefined;
    if (stored.access_token !== rejectedToken) {
      return { token: stored.access_token, refreshed: false };
    }
    if (!canRenew(provider, stored)) return undefined;

    const now = this.#now();
    const last = this.#lastForced.get(grant.id);
    if (last !== undefined && now - last < this.#forceIntervalMs) return undefined;
    this.#lastForced.set(grant.id, now);
    return this.#renew(grant, provider, (current) => current.access_token !== rejectedToken);
  }

  /** An expired token with no way to renew it: the user must connect again. */
  #withoutRenewal(grant: Grant, stored: OAuthCredential, now: number): FreshToken {
    if (!isExpired(stored, now)) return { token: stored.access_token, refreshed: false };
    this.#store.grants.setStatus(grant.id, 'needs_reauth');
    this.#logger.warn(
      { grant: grant.id, provider: grant.provider },
      'OAuth token expired and the grant has no refresh token; it needs connecting again',
    );
    throw new GrantdError('grant_needs_reauth');
  }

  /** One renewal per grant in this process; callers arriving meanwhile share it. */
  #renew(grant: Grant, provider: Provider, satisfied: Satisfied): Promise<FreshToken> {
    const cooling = this.#cooling.get(grant.id);
    if (cooling !== undefined) {
      if (this.#now() < cooling.until) return Promise.reject(cooling.error);
      this.#cooling.delete(grant.id);
    }
    let flight = this.#inflight.get(grant.id);
    if (flight === undefined) {
      flight = this.#renewLocked(grant, provider, satisfied).finally(() => {
        this.#inflight.delete(grant.id);
      });
      this.#inflight.set(grant.id, flight);
    }
    return flight;
  }

  async #renewLocked(grant: Grant, provider: Provider, satisfied: Satisfied): Promise<FreshToken> {
    const name = `oauth-refresh:${grant.id}`;
    const owner = lockOwner();
    const started = Date.now();
    try {
      const done = await this.#takeLock(name, owner, grant.id, satisfied);
      if (done !== undefined) return done;
    } catch (error) {
      this.#recordFailure(grant, error);
      throw error;
    }
    try {
      const fresh = await this.#renewHeld(grant.id, provider, satisfied);
      if (fresh.refreshed) {
        this.#onRefresh(grant.provider, 'ok');
        this.#logger.info(
          { grant: grant.id, provider: grant.provider, durationMs: Date.now() - started },
          'refreshed an OAuth token',
        );
      }
      return fresh;
    } catch (error) {
      this.#recordFailure(grant, error);
      throw error;
    } finally {
      this.#locks.release(name, owner);
    }
  }

  /**
   * Takes the cross-process lock, or returns the token another process put
   * in the vault while this one waited. There is no event to wait on across
   * processes, so this polls, briefly: refreshes take a round trip.
   */
  async #takeLock(
    name: string,
    owner: string,
    grantId: string,
    satisfied: Satisfied,
  ): Promise<FreshToken | undefined> {
    const deadline = Date.now() + this.#lockWaitMs;
    for (let attempt = 0; ; attempt += 1) {
      if (this.#locks.tryTake(name, owner, this.#lockTtlMs)) return undefined;
      const { credential } = await this.#reread(grantId);
      if (credential !== undefined && satisfied(credential, this.#now())) {
        return { token: credential.access_token, refreshed: false };
      }
      if (Date.now() >= deadline) {
        throw new GrantdError(
          'token_refresh_failed',
          'Another grantd process is still refreshing this grant.',
        );
      }
      await sleep(Math.min(10 + attempt * 10, 100));
    }
  }

  /** With the lock held: re-read, refresh unless someone already did, persist, then answer. */
  async #renewHeld(grantId: string, provider: Provider, satisfied: Satisfied): Promise<FreshToken> {
    const { grant, credential } = await this.#reread(grantId);
    if (credential !== undefined && satisfied(credential, this.#now())) {
      return { token: credential.access_token, refreshed: false };
    }
    const set = await this.#fetch(grant, provider, credential);
    const next = toCredential(set);
    const version = this.#store.grants.bumpSecretVersion(grant.id);
    await this.#vault.put(grant.id, next, version);
    this.#cooling.delete(grant.id);
    return { token: next.access_token, refreshed: true };
  }

  #fetch(
    grant: Grant,
    provider: Provider,
    credential: OAuthCredential | undefined,
  ): Promise<TokenSet> {
    if (isClientCredentials(provider)) {
      return this.#client.clientCredentials(provider, grant.params, grant.scopes);
    }
    if (credential?.refresh_token === undefined) {
      return Promise.reject(new GrantdError('grant_needs_reauth'));
    }
    return this.#client.refresh(provider, grant.params, credential.refresh_token);
  }

  /** The grant row and credential as they are now, in the store and vault. */
  async #reread(
    grantId: string,
  ): Promise<{ grant: Grant; credential: OAuthCredential | undefined }> {
    const grant = this.#store.grants.byId(grantId);
    if (!grant) throw new GrantdError('grant_not_found');
    if (grant.status === 'needs_reauth') throw new GrantdError('grant_needs_reauth');
    const stored = await this.#vault.get(grant.id, grant.secretVersion);
    return { grant, credential: stored?.kind === 'oauth' ? stored : undefined };
  }

  #recordFailure(grant: Grant, error: unknown): void {
    if (!(error instanceof GrantdError)) return;
    const fields = { grant: grant.id, provider: grant.provider, reason: causeOf(error) };
    if (error.code === 'grant_needs_reauth') {
      this.#onRefresh(grant.provider, 'needs_reauth');
      this.#store.grants.setStatus(grant.id, 'needs_reauth');
      this.#logger.warn(
        fields,
        'the provider refused the refresh token; the grant needs connecting again',
      );
      return;
    }
    if (error.code === 'token_refresh_failed') {
      this.#onRefresh(grant.provider, 'failed');
      this.#cooling.set(grant.id, { until: this.#now() + this.#cooldownMs, error });
      this.#logger.error({ ...fields, cooldownMs: this.#cooldownMs }, 'OAuth token refresh failed');
    }
  }
}

function isClientCredentials(provider: Provider): boolean {
  return provider.spec.auth === 'oauth2_client_credentials';
}

/** Whether grantd can renew this grant's token at all. */
function isRenewable(grant: Grant, provider: Provider): boolean {
  return grant.kind === 'oauth' && provider.spec.oauth !== undefined;
}

function canRenew(provider: Provider, credential: OAuthCredential): boolean {
  return isClientCredentials(provider) || credential.refresh_token !== undefined;
}

function isRefreshFailure(error: unknown): boolean {
  return error instanceof GrantdError && error.code === 'token_refresh_failed';
}

function noCredential(): GrantdError {
  return new GrantdError('vault_unavailable', 'The vault holds no credential for this grant.');
}

/** The label a token call failed with; labels name no secret (see TokenEndpointFailure). */
function causeOf(error: GrantdError): string | undefined {
  return error.cause instanceof Error ? error.cause.message : undefined;
}
