import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ERROR_CATALOG } from '../../src/errors.js';

describe('the error catalogue', () => {
  it('matches the table in docs/errors.md, code by code and status by status', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\|\s*(\d{3})\s*\|\s*`([a-z_]+)`\s*\|/gm)].map((m) => [
      m[2],
      Number(m[1]),
    ]);
    const catalog = Object.entries(ERROR_CATALOG).map(([code, { status }]) => [code, status]);
    expect(rows.sort()).toEqual(catalog.sort());
  });
});
