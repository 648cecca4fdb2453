/** Per-key request limits: how many at once, and how many per second. */
export interface KeyLimits {
  /** Requests in flight per key; 0 turns the limit off. */
  concurrency: number;
  /** Sustained requests per second per key (token bucket); 0 turns it off. */
  ratePerSecond: number;
  /** Requests a key may send at once above the rate, after a quiet spell. */
  burst: number;
}

export type Admission =
  | { admitted: true; release: () => void }
  | { admitted: false; reason: 'concurrency' | 'rate'; retryAfterS: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
  inFlight: number;
}

/**
 * Admits or turns away each keyed request. Buckets live in memory, one per
 * key that has been seen, and are dropped once idle and full again.
 */
export class KeyLimiter {
  readonly #limits: KeyLimits;
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  constructor(limits: KeyLimits, now: () => number = () => performance.now()) {
    this.#limits = limits;
    this.#now = now;
  }

  get enabled(): boolean {
    return this.#limits.concurrency > 0 || this.#limits.ratePerSecond > 0;
  }

  admit(keyId: string): Admission {
    const { concurrency, ratePerSecond, burst } = this.#limits;
    const now = this.#now();
    const bucket = this.#buckets.get(keyId) ?? { tokens: burst, updatedAt: now, inFlight: 0 };
    this.#buckets.set(keyId, bucket);

    if (ratePerSecond > 0) {
      bucket.tokens = Math.min(
        burst,
        bucket.tokens + ((now - bucket.updatedAt) / 1000) * ratePerSecond,
      );
      bucket.updatedAt = now;
      if (bucket.tokens < 1) {
        const retryAfterS = Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond));
        return { admitted: false, reason: 'rate', retryAfterS };
      }
    }
    if (concurrency > 0 && bucket.inFlight >= concurrency) {
      return { admitted: false, reason: 'concurrency', retryAfterS: 1 };
    }
    if (ratePerSecond > 0) bucket.tokens -= 1;
    bucket.inFlight += 1;
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        bucket.inFlight -= 1;
        if (bucket.inFlight === 0 && (ratePerSecond === 0 || bucket.tokens >= burst)) {
          this.#buckets.delete(keyId);
        }
      },
    };
  }
}
