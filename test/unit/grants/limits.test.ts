import { describe, expect, it } from 'vitest';

import { KeyLimiter } from '../../../src/grants/limits.js';

describe('the per-key limiter', () => {
  it('lets a burst through, then refuses with the seconds until a token is back', () => {
    let now = 0;
    const limiter = new KeyLimiter({ concurrency: 0, ratePerSecond: 2, burst: 3 }, () => now);
    for (let i = 0; i < 3; i++) {
      const admission = limiter.admit('k');
      expect(admission.admitted).toBe(true);
      if (admission.admitted) admission.release();
    }
    expect(limiter.admit('k')).toEqual({ admitted: false, reason: 'rate', retryAfterS: 1 });
    now += 500;
    expect(limiter.admit('k').admitted).toBe(true);
  });

  it('keeps keys apart', () => {
    const limiter = new KeyLimiter({ concurrency: 0, ratePerSecond: 1, burst: 1 }, () => 0);
    expect(limiter.admit('a').admitted).toBe(true);
    expect(limiter.admit('a').admitted).toBe(false);
    expect(limiter.admit('b').admitted).toBe(true);
  });

  it('counts requests in flight and frees a slot on release, once', () => {
    const limiter = new KeyLimiter({ concurrency: 2, ratePerSecond: 0, burst: 1 });
    const first = limiter.admit('k');
    const second = limiter.admit('k');
    expect(limiter.admit('k')).toMatchObject({ admitted: false, reason: 'concurrency' });
    if (!first.admitted || !second.admitted) throw new Error('expected admission');
    first.release();
    first.release();
    expect(limiter.admit('k').admitted).toBe(true);
    expect(limiter.admit('k').admitted).toBe(false);
  });

  it('is off when both limits are zero', () => {
    expect(new KeyLimiter({ concurrency: 0, ratePerSecond: 0, burst: 1 }).enabled).toBe(false);
  });
});
