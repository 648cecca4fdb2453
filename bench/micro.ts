/**
 * Micro figures, in a child process of their own (pinned to grantd's core):
 * how fast the local CA mints leaf certificates and how fast the audit log
 * commits rows. They bound what the end-to-end scenarios can show: a cold
 * host costs one mint, every injected request one audit row.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AuditLog } from '../src/audit/audit-log.js';
import type { AuditRecord } from '../src/audit/record.js';
import { loadOrCreateAuthority } from '../src/ca/authority.js';
import { LeafCache } from '../src/ca/leaf-cache.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/log/logger.js';
import { Upstream, type UpstreamTarget } from '../src/proxy/upstream.js';
import { Store } from '../src/store/store.js';
import { SMALL_PATH, type MicroFigure, type MicroMessage } from './protocol.js';

function figure(name: string, count: number, started: bigint, note: string): MicroFigure {
  const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { name, count, durationMs, perSecond: count / (durationMs / 1000), note };
}

async function leafFigures(home: string, count: number): Promise<MicroFigure[]> {
  const authority = await loadOrCreateAuthority(home);
  const cache = new LeafCache(authority, { capacity: count * 3 });
  // The first mint also makes the shared leaf key; keep it out of the figure.
  await cache.contextFor('warm.bench.test');

  let started = process.hrtime.bigint();
  for (let i = 0; i < count; i += 1) await cache.contextFor(`seq-${i}.bench.test`);
  const sequential = figure(
    'leaf certificates minted, one at a time',
    count,
    started,
    'LeafCache.contextFor on new hosts: one ECDSA P-256 signature plus a SecureContext each',
  );

  started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: count }, (_, i) => cache.contextFor(`par-${i}.bench.test`)),
  );
  const parallel = figure(
    'leaf certificates minted, all at once',
    count,
    started,
    'the same, every mint started together (signatures run in the libuv pool)',
  );
  return [sequential, parallel];
}

function auditRow(i: number): AuditRecord {
  return {
    ts: Date.now(),
    requestId: `req_bench_${i}`,
    app: 'app_bench',
    keyId: 'key_bench',
    grantId: 'gr_bench',
    provider: 'bench',
    principal: undefined,
    method: 'GET',
    host: 'api.bench.test',
    path: '/small',
    status: 200,
    outcome: 'ok',
    refreshed: false,
    durationMs: 1,
    bytesIn: 0,
    bytesOut: 104,
  };
}

function auditFigures(home: string, batched: number, committed: number): MicroFigure[] {
  const store = Store.open(home);
  const audit = new AuditLog(store.db, createLogger({ level: 'silent', format: 'json' }));
  try {
    let started = process.hrtime.bigint();
    for (let i = 0; i < batched; i += 1) audit.record(auditRow(i));
    audit.flush();
    const batchedFigure = figure(
      'audit rows written, batched (audit.mode: best_effort)',
      batched,
      started,
      'AuditLog.record then flush: one transaction per 500 rows, WAL, synchronous=NORMAL',
    );

    started = process.hrtime.bigint();
    for (let i = 0; i < committed; i += 1) audit.recordNow(auditRow(batched + i));
    const committedFigure = figure(
      'audit rows written, one commit each (audit.mode: required)',
      committed,
      started,
      'AuditLog.recordNow: a transaction per row',
    );
    return [batchedFigure, committedFigure];
  } finally {
    audit.close();
    store.close();
  }
}

/**
 * grantd's two upstream client stacks side by side, through its own Upstream
 * (same TLS context, pools and checks): node:http's, still used for WebSocket
 * upgrades and OAuth calls, and undici's, used for proxied requests. This is
 * the measurement behind choosing undici for the hot path.
 */
async function upstreamClientFigures(count: number): Promise<MicroFigure[]> {
  const configPath = process.env.BENCH_MICRO_CONFIG;
  const host = process.env.BENCH_MICRO_HOST;
  if (!configPath || !host) return [];
  const upstream = new Upstream(loadConfig({ file: configPath, env: {} }));
  const target: UpstreamTarget = { host, port: 443, secure: true };
  const headers = ['Host', host, 'Authorization', process.env.BENCH_MICRO_AUTHORIZATION ?? ''];
  const request = { method: 'GET', path: SMALL_PATH, headers };

  const viaNodeHttp = () =>
    new Promise<void>((resolve, reject) => {
      const req = upstream.request(target, request);
      req.once('response', (res) => {
        res.resume();
        res.once('end', resolve);
      });
      req.once('error', reject);
      req.end();
    });
  const viaUndici = () =>
    new Promise<void>((resolve, reject) => {
      upstream.dispatch(
        target,
        { ...request, body: null },
        {
          onConnect: () => undefined,
          onHeaders: () => true,
          onData: () => true,
          onComplete: () => resolve(),
          onError: reject,
        },
      );
    });

  const concurrency = 16;
  const measure = async (name: string, one: () => Promise<void>, note: string) => {
    const run = async (n: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < n) await one();
        }),
      );
    };
    await run(Math.min(count, 2_000));
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    await run(count);
    const used = process.cpuUsage(cpu);
    return {
      ...figure(name, count, started, note),
      cpuUsPerItem: (used.user + used.system) / count,
    };
  };
  try {
    const figures: MicroFigure[] = [];
    // Twice each, alternating, so neither gets the warmer machine.
    for (let round = 0; round < 2; round += 1) {
      figures.push(
        await measure(
          `upstream requests, node:http client (round ${round + 1})`,
          viaNodeHttp,
          `Upstream.request: keep-alive https.Agent, ${concurrency} at a time, small JSON`,
        ),
        await measure(
          `upstream requests, undici client (round ${round + 1})`,
          viaUndici,
          `Upstream.dispatch: undici Agent and dispatch handler, ${concurrency} at a time, small JSON`,
        ),
      );
    }
    return figures;
  } finally {
    upstream.close();
  }
}

async function main(): Promise<void> {
  const quick = process.env.BENCH_QUICK_MICRO === '1';
  const dir = mkdtempSync(join(tmpdir(), 'grantd-bench-micro-'));
  try {
    const figures = [
      ...(await leafFigures(join(dir, 'ca-home'), quick ? 50 : 500)),
      ...auditFigures(join(dir, 'audit-home'), quick ? 10_000 : 200_000, quick ? 500 : 5_000),
      ...(await upstreamClientFigures(quick ? 1_000 : 20_000)),
    ];
    send({ type: 'micro', figures });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function send(message: MicroMessage): void {
  process.send?.(message, undefined, undefined, () => process.disconnect?.());
}

main().catch((error: unknown) => {
  process.exitCode = 1;
  send({
    type: 'failed',
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
});
