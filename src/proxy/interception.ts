import type { LoadedConfig } from '../config/load.js';

/**
 * Decides which CONNECT targets grantd terminates TLS for. A host is
 * intercepted when the config lists it under `intercept:` or it belongs to a
 * configured provider; every other tunnel stays blind, its bytes unread.
 */
export class Interception {
  readonly #hosts: ReadonlySet<string>;

  constructor(config: Pick<LoadedConfig, 'intercept' | 'providers'>) {
    const hosts = new Set(config.intercept);
    for (const provider of Object.values(config.providers)) {
      for (const host of provider.hosts ?? []) hosts.add(host);
    }
    this.#hosts = hosts;
  }

  /** Whether TLS to `host` (canonical) is terminated by grantd. */
  covers(host: string): boolean {
    return this.#hosts.has(host);
  }

  get hosts(): ReadonlySet<string> {
    return this.#hosts;
  }
}
