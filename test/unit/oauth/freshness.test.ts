import { describe, expect, it } from 'vitest';

import { isExpired, isFresh, refreshMarginMs } from '../../../src/oauth/freshness.js';

const HOUR = 3_600_000;
const spec = { refresh_margin_s: 300 };
const credential = (lifetimeMs: number | undefined) => ({
  kind: 'oauth' as const,
  access_token: 't',
  obtained_at: 0,
  ...(lifetimeMs === undefined ? {} : { expires_at: lifetimeMs }),
});

describe('token freshness', () => {
  it('refreshes an hour-long token 5 minutes before it expires', () => {
    expect(refreshMarginMs(spec, credential(HOUR))).toBe(300_000);
    expect(isFresh(spec, credential(HOUR), HOUR - 300_001)).toBe(true);
    expect(isFresh(spec, credential(HOUR), HOUR - 300_000)).toBe(false);
  });

  it('never counts more than half the lifetime as margin', () => {
    expect(refreshMarginMs(spec, credential(120_000))).toBe(60_000);
    expect(isFresh(spec, credential(2_000), 999)).toBe(true);
    expect(isFresh(spec, credential(2_000), 1_000)).toBe(false);
  });

  it('takes a token without expiry as fresh until the upstream says otherwise', () => {
    expect(isFresh(spec, credential(undefined), Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(isExpired(credential(undefined), Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('uses the provider margin', () => {
    expect(refreshMarginMs({ refresh_margin_s: 60 }, credential(HOUR))).toBe(60_000);
  });
});
