import { Store } from '../../src/store/store.js';
import { BenchFailure } from './measure.js';

/** A grant's audit rows: `ok` with status 200, and of those the ones marked `refreshed`. */
export interface AuditCount {
  rows: number;
  refreshed: number;
}

/**
 * Checks, after grantd stopped (which flushes its queue), that every
 * injected request sent through it left an `ok` audit row for the grant:
 * the main figure is only honest if the audit write was part of it.
 */
export function verifyAuditRows(
  home: string,
  grantId: string,
  expected: number,
  what = 'the bench grant',
): AuditCount {
  const store = Store.open(home, { readonly: true });
  try {
    const count = store.db
      .prepare<[string], AuditCount>(
        'SELECT count(*) AS rows, coalesce(sum(refreshed), 0) AS refreshed FROM audit ' +
          "WHERE grant_id = ? AND outcome = 'ok' AND status = 200",
      )
      .get(grantId) ?? { rows: 0, refreshed: 0 };
    if (count.rows !== expected) {
      throw new BenchFailure(
        `grantd wrote ${count.rows} ok audit rows for ${what}; ${expected} injected requests went through it`,
      );
    }
    return count;
  } finally {
    store.close();
  }
}
