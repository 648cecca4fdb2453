import { describe, expect, it } from 'vitest';

import { newRequestId, randomBase62 } from '../../../src/util/ids.js';

describe('random ids', () => {
  it('are base62 of the asked length and do not repeat', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const id = randomBase62(16);
      expect(id).toMatch(/^[0-9A-Za-z]{16}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(5_000);
  });

  it('use every character about equally often', () => {
    const counts = new Map<string, number>();
    const text = randomBase62(62_000);
    for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // Each count is ~1000; a biased mapping (byte % 62 without rejection) skews the first few.
    for (const count of counts.values()) expect(Math.abs(count - 1000)).toBeLessThan(200);
  });

  it('give request ids that sort by time', () => {
    // Millisecond times keep eight base36 digits from 1973 to 2059.
    const earlier = newRequestId(Date.parse('2026-12-03T10:00:00Z'));
    const later = newRequestId(Date.parse('2026-12-03T10:00:01Z'));
    expect(earlier < later).toBe(true);
    expect(newRequestId()).toMatch(/^req_[0-9a-z]+[0-9A-Za-z]{12}$/);
  });
});
