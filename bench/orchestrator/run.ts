import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';

import type { BenchOptions } from '../options.js';
import { createBenchPki, type BenchPki } from '../pki.js';
import { CLOCK_TICKS, resetPeakRss, statusBytes, statusText } from '../proc-stats.js';
import type { MicroFigure, MicroMessage, UpstreamMessage, UpstreamSpec } from '../protocol.js';
import { formatMarkdown, writeResults, type BenchReport, type StartupFigures } from '../report.js';
import { verifyAuditRows } from './audit-check.js';
import { chooseClient } from './calibrate.js';
import {
  BENCH_DIST,
  choosePinning,
  hasType,
  nextMessage,
  pinSelf,
  spawnNode,
  type Child,
  type Pinning,
} from './children.js';
import {
  HOSTS,
  newBenchOAuth,
  provision,
  startGrantd,
  writeConfig,
  type BenchOAuth,
  type GrantdSetup,
  type RunningGrantd,
} from './grantd.js';
import type { Bench } from './measure.js';
import { runRow, type Row } from './rows.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { runStorm, STORM_REFRESH_DELAY_MS, STORM_REQUESTS, type StormResult } from './storm.js';
import { runStream } from './stream.js';

const began = Date.now();

/** Progress goes to stderr, so stdout carries the Markdown report alone. */
const progress = (line: string): void => {
  const at = ((Date.now() - began) / 1000).toFixed(1).padStart(5);
  process.stderr.write(`[${at} s] ${line}\n`);
};

async function startUpstream(
  pki: BenchPki,
  token: string,
  oauth: BenchOAuth,
  pinning: Pinning | undefined,
) {
  const spec: UpstreamSpec = {
    certFile: pki.certFile,
    keyFile: pki.keyFile,
    expectedAuthorization: `Bearer ${token}`,
    oauth: {
      tokenHost: HOSTS.oauthToken,
      apiHost: HOSTS.oauthApi,
      clientId: oauth.clientId,
      clientSecret: oauth.clientSecret,
      refreshToken: oauth.refreshToken,
      delayMs: STORM_REFRESH_DELAY_MS,
    },
  };
  const upstream = spawnNode(join(BENCH_DIST, 'upstream.js'), [], {
    cpu: pinning?.others,
    ipc: true,
    env: { BENCH_UPSTREAM: JSON.stringify(spec) },
  });
  const ready = await nextMessage(
    upstream,
    hasType<Extract<UpstreamMessage, { type: 'ready' }>>('ready'),
    'upstream start',
    15_000,
  );
  return { upstream, port: ready.port };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Starts grantd on a fresh data folder (the cold start makes the CA and the
 * database), provisions it with the CLI, then restarts it on the existing
 * folder a few times. The last start stays up for the scenarios.
 */
async function bringUpGrantd(
  setup: GrantdSetup,
  pinning: Pinning | undefined,
  token: string,
  oauth: BenchOAuth,
) {
  const cold = await startGrantd(setup, pinning?.grantd);
  await cold.stop();
  const credentials = await provision(setup, token, oauth);

  const warmMs: number[] = [];
  let grantd: RunningGrantd | undefined;
  for (let i = 0; i < 3; i += 1) {
    await grantd?.stop();
    grantd = await startGrantd(setup, pinning?.grantd);
    warmMs.push(grantd.readyMs);
  }
  const running = grantd as RunningGrantd;
  const startup: StartupFigures = {
    coldMs: cold.readyMs,
    warmMs,
    warmMedianMs: median(warmMs),
    idleRss: statusBytes(running.pid, 'VmRSS'),
  };
  return { grantd: running, credentials, startup };
}

async function runMicro(
  options: BenchOptions,
  pinning: Pinning | undefined,
  upstream: { configPath: string; authorization: string },
): Promise<MicroFigure[]> {
  const child = spawnNode(join(BENCH_DIST, 'micro.js'), [], {
    cpu: pinning?.grantd,
    ipc: true,
    env: {
      BENCH_QUICK_MICRO: options.quick ? '1' : '0',
      // The upstream is still up: the client figures use grantd's config to reach it.
      BENCH_MICRO_CONFIG: upstream.configPath,
      BENCH_MICRO_HOST: HOSTS.inject,
      BENCH_MICRO_AUTHORIZATION: upstream.authorization,
    },
  });
  const message = await nextMessage(
    child,
    hasType<MicroMessage>('micro', 'failed'),
    'micro',
    120_000,
  );
  await child.exited;
  if (message.type === 'failed') throw new Error(`micro figures failed: ${message.message}`);
  return message.figures;
}

/** Flags rows whose numbers need a second look before anyone quotes them. */
function noticeOddities(rows: Row[]): string[] {
  const notes: string[] = [];
  for (const row of rows) {
    const at = `${row.scenario} c=${row.concurrency}`;
    if (row.direct.capped || row.grantd.capped) {
      notes.push(`${at}: the time cap ended a run before all ${row.requests} requests were sent.`);
    }
    if (row.ratio > 1.05) {
      notes.push(
        `${at}: grantd is faster than direct (ratio ${row.ratio.toFixed(2)}). Direct runs put ` +
          'client and upstream on one core; through grantd a second core works too, so at high ' +
          'concurrency the direct baseline is the one that is CPU-bound. Compare CPU µs/request.',
      );
    }
    const conns = row.grantd.upstreamConnections;
    if (!row.scenario.includes('new-conn') && conns > 2 * row.concurrency + 2) {
      notes.push(
        `${at}: grantd opened ${conns} upstream TLS connections for ` +
          `${row.grantd.upstreamRequests} requests on keep-alive client connections; a pooled ` +
          `upstream would need about ${row.concurrency} at most.`,
      );
    }
    const spread = (rps: number[]) => (Math.max(...rps) - Math.min(...rps)) / Math.max(...rps);
    if (row.grantd.roundsRps.length > 1 && spread(row.grantd.roundsRps) > 0.15) {
      notes.push(
        `${at}: grantd rounds differ by more than 15% ` +
          `(${row.grantd.roundsRps.map((v) => v.toFixed(0)).join(', ')} req/s); noisy machine?`,
      );
    }
  }
  return notes;
}

/** A storm whose requests mostly found the new token already stored did not test the sharing. */
function noticeStorm(storm: StormResult | { skipped: string }): string[] {
  if ('skipped' in storm || storm.sharedRefresh === undefined) return [];
  if (storm.sharedRefresh === storm.requests) return [];
  return [
    `storm: ${storm.sharedRefresh} of ${storm.requests} requests shared the refresh; the others ` +
      'reached grantd after the new token was stored (a busy machine, or a refresh faster ' +
      'than grantd could read the requests). The single refresh was still checked.',
  ];
}

/** Another process busy on a 2-core machine moves every figure; say so beside them. */
function noticeBusyMachine(loadAverage: number): string[] {
  if (loadAverage < 0.7) return [];
  return [
    `The 1-minute load average was ${loadAverage.toFixed(2)} when the run began: other work was ` +
      'running on this machine, so req/s and latencies are noisier than on an idle one.',
  ];
}

/**
 * grantd runs at log level warn: any log line it wrote during the runs
 * deserves a look. Only JSON lines count; the start banner on stderr is
 * plain text. Lines are grouped by message, since one cause tends to repeat.
 */
function noticeLogLines(output: string): string[] {
  const counts = new Map<string, number>();
  for (const line of output.split('\n')) {
    let parsed: { level?: number; msg?: string; err?: { message?: string } };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      continue;
    }
    if (typeof parsed.level !== 'number' || parsed.level < 40) continue;
    const message = [parsed.msg, parsed.err?.message].filter(Boolean).join(': ');
    counts.set(message, (counts.get(message) ?? 0) + 1);
  }
  return [...counts].map(
    ([message, count]) => `grantd logged at warn or above ${count}x: \`${message}\``,
  );
}

/** Runs the whole suite and returns the report; throws BenchFailure on a failed check. */
export async function runBenchmark(options: BenchOptions, command: string): Promise<BenchReport> {
  const started = Date.now();
  const loadAverage = loadavg()[0] ?? 0;
  const pinning = choosePinning(options.noPin);
  if (pinning) pinSelf(pinning.others);
  const dir = mkdtempSync(join(tmpdir(), 'grantd-bench-'));
  const token = `bench_${randomBytes(16).toString('hex')}`;
  const oauth = newBenchOAuth();
  const children: (Child | RunningGrantd)[] = [];
  try {
    const pki = await createBenchPki(dir, Object.values(HOSTS));
    const { upstream, port } = await startUpstream(pki, token, oauth, pinning);
    children.push(upstream);
    const load = spawnNode(join(BENCH_DIST, 'load.js'), [], { cpu: pinning?.others, ipc: true });
    children.push(load);
    // Twice the storm, so a warm-up request whose slot grantd has not freed yet cannot tip it.
    const setup = await writeConfig(dir, port, pki.caFile, oauth, 2 * STORM_REQUESTS);
    progress(
      `grantd bench: ${options.quick ? 'quick' : 'full'} run, pinning ${pinning ? 'on' : 'off'}`,
    );
    const brought = await bringUpGrantd(setup, pinning, token, oauth);
    const { credentials, startup } = brought;
    let grantd = brought.grantd;
    children.push(grantd);
    // Every grantd that served runs, for the log lines they wrote.
    const served = [grantd];
    progress(`  grantd ready in ${startup.warmMedianMs.toFixed(0)} ms (existing data folder)`);

    const cpusAllowed = {
      grantd: statusText(grantd.pid, 'Cpus_allowed_list') ?? '?',
      upstream: statusText(upstream.pid, 'Cpus_allowed_list') ?? '?',
    };
    const bench: Bench = {
      pinning,
      upstream,
      load,
      upstreamPort: port,
      benchCaFile: pki.caFile,
      expectedAuthorization: `Bearer ${token}`,
      grantd: { pid: grantd.pid, proxyUrl: grantd.proxyUrl },
      credentials,
      injectedThroughGrantd: 0,
      stormThroughGrantd: 0,
    };
    const client = await chooseClient(bench, options);
    progress(`  client: ${client.client} (${client.reason})`);

    const rows: Row[] = [];
    const selected = SCENARIOS.filter((s) => !options.only || options.only.has(s.id));
    const runRows = async (scenarios: Scenario[]) => {
      for (const scenario of scenarios) {
        for (const concurrency of scenario.concurrencies) {
          rows.push(await runRow(bench, options, client.client, scenario, concurrency, progress));
        }
      }
    };
    await runRows(selected.filter((s) => s.audit === 'best_effort'));

    if (!options.skipStream) progress(`  streaming ${options.streamBytes / 1024 / 1024} MiB`);
    const stream = options.skipStream
      ? { skipped: 'not selected (BENCH_SKIP_STREAM, --skip-stream or --only)' }
      : await runStream(bench, options, client.client);

    let storm: StormResult | { skipped: string } = { skipped: 'not selected (--only)' };
    if (!options.skipStorm) {
      progress(`  refresh storm: ${STORM_REQUESTS} requests, one expired token`);
      const result = await runStorm(bench);
      progress(
        `  storm: ${result.refreshes} refresh, p50 ${result.p50Ms.toFixed(1)} ms, ` +
          `p99 ${result.p99Ms.toFixed(1)} ms, wall ${result.wallMs.toFixed(0)} ms`,
      );
      storm = result;
    }

    // audit.mode is daemon-wide: those rows run on grantd restarted with the other config.
    const required = selected.filter((s) => s.audit === 'required');
    if (required.length > 0) {
      await grantd.stop();
      grantd = await startGrantd(setup, pinning?.grantd, 'required');
      children.push(grantd);
      served.push(grantd);
      bench.grantd = { pid: grantd.pid, proxyUrl: grantd.proxyUrl };
      progress(`  grantd restarted with audit.mode: required (${grantd.readyMs.toFixed(0)} ms)`);
      await runRows(required);
    }

    await grantd.stop();
    const audit = verifyAuditRows(setup.home, credentials.grantId, bench.injectedThroughGrantd);
    progress(`  audit: ${audit.rows} ok rows for the grant, one per injected request`);
    const stormAudit = verifyAuditRows(
      setup.home,
      credentials.oauthGrantId,
      bench.stormThroughGrantd,
      'the storm grant',
    );
    if (!('skipped' in storm)) {
      storm.sharedRefresh = stormAudit.refreshed;
      progress(
        `  audit: ${stormAudit.rows} ok rows for the storm grant, ` +
          `${stormAudit.refreshed} of them shared the refresh`,
      );
    }
    if (!options.skipMicro) progress('  micro figures');
    const micro = options.skipMicro
      ? { skipped: 'not selected (BENCH_SKIP_MICRO, --skip-micro or --only)' }
      : await runMicro(options, pinning, {
          configPath: setup.configPath,
          authorization: bench.expectedAuthorization,
        });

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    return {
      startedAt: new Date(started).toISOString(),
      durationS: (Date.now() - started) / 1000,
      command,
      quick: options.quick,
      rounds: options.rounds,
      machine: {
        cpu,
        cores: cpus().length,
        node: process.version,
        kernel: release(),
        clockTicks: CLOCK_TICKS,
        loadAverage,
      },
      pinning,
      cpusAllowed,
      peakRssMethod: resetPeakRss(process.pid) ? 'VmHWM' : 'sampled',
      client,
      startup,
      rows,
      stream,
      storm,
      micro,
      auditRows: audit.rows,
      stormAuditRows: stormAudit.rows,
      notes: [
        ...noticeBusyMachine(loadAverage),
        ...noticeOddities(rows),
        ...noticeStorm(storm),
        ...noticeLogLines(served.map((g) => g.child.output()).join('\n')),
      ],
    };
  } finally {
    for (const child of children.reverse()) {
      if ('stop' in child) await child.stop();
      else if (child.process.connected) child.process.disconnect();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints the Markdown to stdout and writes it, with the JSON, to the results folder. */
export function publish(report: BenchReport, resultsDir: string): string[] {
  const markdown = formatMarkdown(report);
  process.stdout.write(markdown);
  return writeResults(report, markdown, resultsDir);
}
