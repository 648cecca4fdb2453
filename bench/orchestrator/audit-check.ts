import { Store } from '../../src/store/store.js';
import { BenchFailure } from './measure.js';

/**
 * Checks, after grantd stopped (which flushes its queue), that every
 * injected request sent through it left an `ok` audit row for the grant:
 * the main figure is only honest if the audit write was part of it.
 */
export function verifyAuditRows(home: string, grantId: string, expected: number): number {
  const store = Store.open(home, { readonly: true });
  try {
    const row = store.db
      .prepare<[string], { rows: number }>(
        "SELECT count(*) AS rows FROM audit WHERE grant_id = ? AND outcome = 'ok' AND status = 200",
      )
      .get(grantId);
    const rows = row?.rows ?? 0;
    if (rows !== expected) {
      throw new BenchFailure(
        `grantd wrote ${rows} ok audit rows for the bench grant; ${expected} injected requests went through it`,
      );
    }
    return rows;
  } finally {
    store.close();
  }
}
