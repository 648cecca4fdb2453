import type { BenchOptions } from '../options.js';
import type { ClientKind } from '../protocol.js';
import { measure, verify, type Bench, type Measurement, type RunRequest } from './measure.js';
import { requestCount, warmupCount, type Scenario } from './scenarios.js';

/** One side of a row: the round with the highest req/s. */
export interface SideSummary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  capped: boolean;
  clientCpuUsPerRequest: number;
  /** Every round's req/s, to show the spread. */
  roundsRps: number[];
  /** TLS connections the upstream accepted in the best round, warm-up included. */
  upstreamConnections: number;
  /** Requests the upstream saw in that round, warm-up included. */
  upstreamRequests: number;
}

/** One line of the results table. */
export interface Row {
  scenario: Scenario['id'];
  title: string;
  concurrency: number;
  requests: number;
  direct: SideSummary;
  grantd: SideSummary;
  /** grantd req/s over direct req/s. */
  ratio: number;
  /** Mean over the grantd rounds. */
  grantdCpuUsPerRequest: number;
  /** The highest peak over the grantd rounds, in bytes. */
  grantdPeakRss: number | undefined;
  /** grantd's RSS as the first grantd round began, to tell growth from baseline. */
  grantdStartRss: number | undefined;
}

/** A run stops at this point even if requests are left, so one slow path cannot stall the suite. */
export function timeCapMs(options: BenchOptions): number {
  return options.quick ? 10_000 : 30_000;
}

/**
 * Runs a scenario at one concurrency: direct, grantd, direct, grantd… for
 * the configured rounds, so drift (thermal, other tenants) hits both sides.
 */
export async function runRow(
  bench: Bench,
  options: BenchOptions,
  client: ClientKind,
  scenario: Scenario,
  concurrency: number,
  onRun: (line: string) => void,
): Promise<Row> {
  const base = {
    scenario,
    client,
    concurrency,
    requests: requestCount(scenario, concurrency, options.quick),
    warmup: warmupCount(scenario, concurrency, options.quick),
    timeCapMs: timeCapMs(options),
  };
  const direct: Measurement[] = [];
  const grantd: Measurement[] = [];
  for (let round = 0; round < options.rounds; round += 1) {
    for (const mode of ['direct', 'grantd'] as const) {
      const run: RunRequest = { ...base, mode };
      const measurement = await measure(bench, run);
      verify(run, measurement, scenario.bodyBytes);
      (mode === 'direct' ? direct : grantd).push(measurement);
      onRun(describeRun(run, measurement));
    }
  }
  const directSide = summarizeSide(direct);
  const grantdSide = summarizeSide(grantd);
  const cpu = grantd.map((m) => m.grantdCpuUsPerRequest ?? 0);
  const peaks = grantd.map((m) => m.grantdPeakRss).filter((v) => v !== undefined);
  return {
    scenario: scenario.id,
    title: scenario.title,
    concurrency,
    requests: base.requests,
    direct: directSide,
    grantd: grantdSide,
    ratio: grantdSide.rps / directSide.rps,
    grantdCpuUsPerRequest: cpu.reduce((a, b) => a + b, 0) / cpu.length,
    grantdPeakRss: peaks.length > 0 ? Math.max(...peaks) : undefined,
    grantdStartRss: grantd[0]?.grantdStartRss,
  };
}

function summarizeSide(runs: Measurement[]): SideSummary {
  const best = runs.reduce((a, b) => (b.result.rps > a.result.rps ? b : a));
  return {
    rps: best.result.rps,
    p50Ms: best.result.p50Ms,
    p99Ms: best.result.p99Ms,
    requests: best.result.requests,
    capped: runs.some((m) => m.result.capped),
    clientCpuUsPerRequest: best.result.clientCpuUsPerRequest,
    roundsRps: runs.map((m) => m.result.rps),
    upstreamConnections: best.upstream.connections,
    upstreamRequests: best.upstream.total,
  };
}

function describeRun(run: RunRequest, m: Measurement): string {
  const r = m.result;
  const cpu =
    m.grantdCpuUsPerRequest === undefined
      ? ''
      : `  grantd ${m.grantdCpuUsPerRequest.toFixed(0)} µs/req`;
  return (
    `  ${run.scenario.id.padEnd(16)} c=${String(run.concurrency).padEnd(3)} ${run.mode.padEnd(6)} ` +
    `${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms` +
    `${cpu}  upstream conns ${m.upstream.connections}${r.capped ? '  (time cap)' : ''}`
  );
}
