import { createSecureContext, type SecureContext } from 'node:tls';

import type { Authority } from './authority.js';
import {
  createLeafCertificate,
  exportPrivateKeyPem,
  generateKeyPair,
  type KeyPair,
} from './x509.js';

/** Leaves live for days, not years: a leaked one is useless soon. */
const LEAF_VALID_MS = 7 * 86_400_000;
/** A cached leaf is replaced once less than this much of its life is left. */
const RENEW_MARGIN_MS = 86_400_000;
/** Hosts kept before the least recently used is dropped. */
const DEFAULT_CAPACITY = 2_000;

interface Entry {
  context: SecureContext;
  renewAt: number;
}

export interface LeafCacheStats {
  minted: number;
  cached: number;
}

/**
 * Hands out one TLS server context per host, signed by the local CA. All
 * leaves share one key made at start, so minting is a signature (off the event
 * loop, in libuv's thread pool) rather than a key generation.
 */
export class LeafCache {
  readonly #authority: Authority;
  readonly #capacity: number;
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<SecureContext>>();
  #leafKeys: Promise<{ keys: KeyPair; pem: string }> | undefined;
  #minted = 0;

  constructor(authority: Authority, { capacity = DEFAULT_CAPACITY } = {}) {
    this.#authority = authority;
    this.#capacity = capacity;
  }

  /** The context for `host` (a canonical name or IP), minting it if needed. */
  contextFor(host: string): Promise<SecureContext> {
    const entry = this.#entries.get(host);
    if (entry && entry.renewAt > Date.now()) {
      // Re-insert to mark as most recently used.
      this.#entries.delete(host);
      this.#entries.set(host, entry);
      return Promise.resolve(entry.context);
    }
    const pending = this.#pending.get(host);
    if (pending) return pending;

    const minting = this.#mint(host).finally(() => this.#pending.delete(host));
    this.#pending.set(host, minting);
    return minting;
  }

  stats(): LeafCacheStats {
    return { minted: this.#minted, cached: this.#entries.size };
  }

  async #mint(host: string): Promise<SecureContext> {
    const leafKeys = await this.#keys();
    const cert = await createLeafCertificate({
      host,
      issuer: this.#authority.issuer,
      publicKey: leafKeys.keys.publicKey,
      validMs: LEAF_VALID_MS,
    });
    const context = createSecureContext({
      cert: cert.pem,
      key: leafKeys.pem,
      minVersion: 'TLSv1.2',
    });
    this.#minted += 1;
    this.#entries.set(host, { context, renewAt: Date.now() + LEAF_VALID_MS - RENEW_MARGIN_MS });
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return context;
  }

  #keys(): Promise<{ keys: KeyPair; pem: string }> {
    this.#leafKeys ??= generateKeyPair().then((keys) => ({
      keys,
      pem: exportPrivateKeyPem(keys.privateKey),
    }));
    return this.#leafKeys;
  }
}
