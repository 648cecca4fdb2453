import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { AuditLog } from '../../../src/audit/audit-log.js';
import type { AuditRecord } from '../../../src/audit/record.js';
import { createLogger } from '../../../src/log/logger.js';
import { Store } from '../../../src/store/store.js';

const silent = createLogger({ level: 'silent', format: 'json' });

describe('AuditLog', () => {
  let home: string;
  let store: Store;
  // A second connection, as the CLI would open: it sees only committed rows.
  let reader: Store;
  let audit: AuditLog;
  let keyId: string;
  let grantId: string;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'grantd-audit-'));
    store = Store.open(home);
    reader = Store.open(home);
    const app = store.apps.create('billing');
    keyId = store.keys.mint(app.id).id;
    grantId = store.grants.create({ appId: app.id, provider: 'openai', kind: 'static' }).id;
    // A long interval: only an explicit flush or recordNow writes in these tests.
    audit = new AuditLog(store.db, silent, { flushIntervalMs: 60_000 });
  });

  afterEach(() => {
    audit.close();
    store.close();
    reader.close();
    rmSync(home, { recursive: true, force: true });
  });

  const row = (requestId: string, ts: number, outcome = 'ok'): AuditRecord => ({
    ts,
    requestId,
    app: 'billing',
    keyId,
    grantId,
    provider: 'openai',
    principal: undefined,
    method: 'GET',
    host: 'api.openai.com',
    path: '/v1/models',
    status: outcome === 'ok' ? 200 : 403,
    outcome,
    refreshed: false,
    durationMs: 1.5,
    bytesIn: 0,
    bytesOut: 10,
  });
  const committed = () =>
    reader.db.prepare('SELECT request_id FROM audit ORDER BY seq').pluck().all() as string[];
  const lastUsed = () => ({
    key: reader.db.prepare('SELECT last_used_at FROM keys WHERE id = ?').pluck().get(keyId),
    grant: reader.db.prepare('SELECT last_used_at FROM grants WHERE id = ?').pluck().get(grantId),
  });

  it('queues rows until a flush, then commits them with last use of key and grant', () => {
    audit.record(row('req_a', 1_000));
    audit.record(row('req_b', 2_000, 'policy_denied'));
    expect(committed()).toEqual([]);
    expect(audit.stats.pending).toBe(2);

    expect(audit.flush()).toBe(true);
    expect(committed()).toEqual(['req_a', 'req_b']);
    // A refusal counts as use of the key, not of the grant.
    expect(lastUsed()).toEqual({ key: 2_000, grant: 1_000 });
    expect(audit.stats).toEqual({ written: 2, pending: 0, dropped: 0 });
  });

  it('recordNow commits at once, after the rows queued before it', () => {
    audit.record(row('req_queued', 1_000));
    audit.recordNow(row('req_now', 2_000));
    expect(committed()).toEqual(['req_queued', 'req_now']);
    expect(audit.stats).toEqual({ written: 2, pending: 0, dropped: 0 });
  });

  it('recordNow leaves last use to the next batch, which still records it', () => {
    audit.recordNow(row('req_now', 5_000));
    expect(committed()).toEqual(['req_now']);
    expect(lastUsed()).toEqual({ key: null, grant: null });
    expect(audit.flush()).toBe(true);
    expect(lastUsed()).toEqual({ key: 5_000, grant: 5_000 });
  });

  it('keeps a row recordNow could not write, reports unhealthy, and writes it later', () => {
    // Another connection holding the write lock makes every write here fail fast.
    const locked = Store.open(home, { busyTimeoutMs: 0 });
    const blocked = Store.open(home, { busyTimeoutMs: 0 });
    const failing = new AuditLog(blocked.db, silent, { flushIntervalMs: 60_000 });
    try {
      locked.db.exec('BEGIN IMMEDIATE');
      expect(() => failing.recordNow(row('req_locked', 3_000))).toThrow(
        'the audit row could not be written',
      );
      expect(failing.healthy).toBe(false);
      expect(failing.stats.pending).toBe(1);
      expect(committed()).toEqual([]);

      locked.db.exec('COMMIT');
      expect(failing.flush()).toBe(true);
      expect(failing.healthy).toBe(true);
      expect(committed()).toEqual(['req_locked']);
      expect(lastUsed()).toEqual({ key: 3_000, grant: 3_000 });
    } finally {
      failing.close();
      blocked.close();
      locked.close();
    }
  });
});
