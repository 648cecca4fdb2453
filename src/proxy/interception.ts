import type { LoadedConfig } from '../config/load.js';
import { hostPatterns, matchesHost, type HostPattern } from '../providers/host-pattern.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Store } from '../store/store.js';

/**
 * Decides which CONNECT targets grantd terminates TLS for: hosts listed
 * under `intercept:`, hosts of routes and of custom providers, and the hosts
 * of every provider some grant uses. Every other tunnel stays blind, its
 * bytes unread. The grant-derived part is recomputed when another process
 * (a CLI adding a grant) has written to the store.
 */
export class Interception {
  readonly #fixed: HostPattern[];
  readonly #providers: ProviderRegistry | undefined;
  readonly #store: Store | undefined;
  #fromGrants: HostPattern[] = [];
  #seenVersion = -1;

  constructor(
    config: Pick<LoadedConfig, 'intercept' | 'providers' | 'routes'>,
    sources: { providers?: ProviderRegistry; store?: Store } = {},
  ) {
    const hosts = [...config.intercept, ...config.routes.map((route) => route.host)];
    for (const provider of Object.values(config.providers)) hosts.push(...(provider.hosts ?? []));
    this.#fixed = hostPatterns(hosts, undefined);
    this.#providers = sources.providers;
    this.#store = sources.store;
  }

  /** Whether TLS to `host` (canonical) is terminated by grantd. */
  covers(host: string): boolean {
    return matchesHost(host, this.#fixed) || matchesHost(host, this.#grantPatterns());
  }

  /** How many host patterns are intercepted now, for the start log line. */
  get size(): number {
    return this.#fixed.length + this.#grantPatterns().length;
  }

  #grantPatterns(): HostPattern[] {
    if (!this.#store || !this.#providers) return this.#fromGrants;
    // The change stamp counts this process's writes too: a grant added in the portal.
    const version = this.#store.turnChangeStamp();
    if (version === this.#seenVersion) return this.#fromGrants;
    this.#seenVersion = version;
    const patterns: HostPattern[] = [];
    for (const id of this.#store.grants.providersInUse()) {
      const provider = this.#providers.get(id);
      if (provider) patterns.push(...hostPatterns(provider.spec.hosts, undefined));
    }
    // Hosts single grants add (a Salesforce instance URL) are intercepted too.
    for (const host of this.#store.grants.extraHostsInUse()) {
      patterns.push({ text: host, wildcard: false });
    }
    this.#fromGrants = patterns;
    return patterns;
  }
}
