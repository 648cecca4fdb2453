import { setTimeout as sleep } from 'node:timers/promises';

import { cpuMicros, resetPeakRss, RssSampler, statusBytes } from '../proc-stats.js';
import type {
  ClientKind,
  LoadMessage,
  LoadResult,
  LoadSpec,
  UpstreamCounters,
  UpstreamMessage,
} from '../protocol.js';
import { hasType, nextMessage, type Child, type Pinning } from './children.js';
import type { Credentials } from './grantd.js';
import type { Scenario } from './scenarios.js';

/** A failed check: the run measured something other than what it claims to. */
export class BenchFailure extends Error {
  override name = 'BenchFailure';
}

/** Everything a run needs to know about the processes around it. */
export interface Bench {
  pinning: Pinning | undefined;
  upstream: Child;
  /** The load generator, one process serving every run in turn. */
  load: Child;
  upstreamPort: number;
  benchCaFile: string;
  /** The value the grant injects, which the upstream checks for. */
  expectedAuthorization: string;
  grantd: { pid: number; proxyUrl: string };
  credentials: Credentials;
  /** Injected requests sent through grantd so far, each of which must leave an audit row. */
  injectedThroughGrantd: number;
  /** The same for the storm's OAuth grant. */
  stormThroughGrantd: number;
}

/** A load run plus what the orchestrator saw from outside. */
export interface Measurement {
  spec: LoadSpec;
  result: LoadResult;
  /** grantd's CPU per measured request in µs; undefined for direct runs. */
  grantdCpuUsPerRequest: number | undefined;
  grantdCpuUs: number | undefined;
  /** grantd's peak RSS during the measured phase, in bytes. */
  grantdPeakRss: number | undefined;
  /** grantd's RSS just before the measured phase. */
  grantdStartRss: number | undefined;
  upstream: UpstreamCounters;
}

export interface RunRequest {
  scenario: Scenario;
  mode: 'direct' | 'grantd';
  client: ClientKind;
  concurrency: number;
  requests: number;
  warmup: number;
  timeCapMs: number;
  path?: string;
  /** Sample RSS even when VmHWM can be reset: the streamed download wants the curve's top. */
  sampleRss?: boolean;
}

/** The load spec for a run: straight to the upstream, or via grantd as an app would call. */
export function buildSpec(bench: Bench, run: RunRequest): LoadSpec {
  const { scenario } = run;
  const common = {
    client: run.client,
    mode: run.mode,
    servername: scenario.host,
    path: run.path ?? scenario.path,
    concurrency: run.concurrency,
    requests: run.requests,
    warmup: run.warmup,
    timeCapMs: run.timeCapMs,
    newConnection: scenario.newConnection,
  };
  if (run.mode === 'direct') {
    // Without grantd the app would hold the token and send it itself.
    const headers: Record<string, string> = scenario.injects
      ? { authorization: bench.expectedAuthorization }
      : {};
    return {
      ...common,
      host: '127.0.0.1',
      port: bench.upstreamPort,
      caFile: bench.benchCaFile,
      headers,
    };
  }
  const { key, grantId, grantdCaFile } = bench.credentials;
  return {
    ...common,
    host: scenario.host,
    port: 443,
    // Trusting only the CA that should answer proves which path the run took:
    // a tunnel must show the upstream's certificate, an interception grantd's.
    caFile: scenario.intercepted ? grantdCaFile : bench.benchCaFile,
    proxy: {
      url: bench.grantd.proxyUrl,
      authorization: `Basic ${Buffer.from(`bench:${key}`).toString('base64')}`,
    },
    headers: scenario.injects ? { 'grantd-grant': grantId } : {},
  };
}

export async function upstreamCounters(bench: Bench): Promise<UpstreamCounters> {
  const reply = nextMessage(
    bench.upstream,
    hasType<Extract<UpstreamMessage, { type: 'counters' }>>('counters'),
    'upstream counters',
    5_000,
  );
  bench.upstream.process.send({ type: 'counters' });
  return (await reply).counters;
}

const isLoadMessage = hasType<LoadMessage>('warm', 'result', 'failed');

/** Names a run in messages: scenario, concurrency, route and client. */
export function runLabel(run: RunRequest): string {
  return `${run.scenario.id} c=${run.concurrency} ${run.mode} (${run.client})`;
}

async function expectLoad<T extends LoadMessage['type']>(
  child: Child,
  type: T,
  timeoutMs: number,
  label: string,
): Promise<Extract<LoadMessage, { type: T }>> {
  const message = await nextMessage(child, isLoadMessage, `${label}: load generator`, timeoutMs);
  if (message.type === 'failed') throw new BenchFailure(`${label}: ${message.message}`);
  if (message.type !== type) throw new Error(`load generator sent ${message.type}, not ${type}`);
  return message as Extract<LoadMessage, { type: T }>;
}

/** Runs one scenario's load and reads grantd's counters around its measured phase. */
export async function measure(bench: Bench, run: RunRequest): Promise<Measurement> {
  const measurement = await measureSpec(bench, buildSpec(bench, run), runLabel(run), run.sampleRss);
  if (run.mode === 'grantd' && run.scenario.injects) {
    bench.injectedThroughGrantd += measurement.result.sent;
  }
  return measurement;
}

/**
 * Has the load generator run `spec`, reading grantd's CPU and RSS (for runs
 * through it) and the upstream's counters around the measured phase.
 */
export async function measureSpec(
  bench: Bench,
  spec: LoadSpec,
  label: string,
  sampleRss = false,
): Promise<Measurement> {
  const before = await upstreamCounters(bench);
  const { load } = bench;
  const pid = spec.mode === 'grantd' ? bench.grantd.pid : undefined;
  const slack = spec.timeCapMs + 30_000;
  load.process.send({ type: 'run', spec });
  await expectLoad(load, 'warm', slack, label);

  const canReset = pid !== undefined && resetPeakRss(pid);
  const sampler =
    pid !== undefined && (!canReset || sampleRss) ? new RssSampler(pid, 25) : undefined;
  let result: LoadResult;
  let cpuUs: number | undefined;
  let sampled: number | undefined;
  const startRss = pid === undefined ? undefined : statusBytes(pid, 'VmRSS');
  try {
    const cpuBefore = pid === undefined ? 0 : cpuMicros(pid);
    load.process.send({ type: 'go' });
    ({ result } = await expectLoad(load, 'result', slack, label));
    // Audit rows are written in batches every 20 ms; let the last batch land
    // inside the window it belongs to. Idle time costs no CPU.
    if (pid !== undefined) await sleep(60);
    cpuUs = pid === undefined ? undefined : cpuMicros(pid) - cpuBefore;
  } finally {
    sampled = sampler?.stop();
  }
  const hwm = canReset && pid !== undefined ? statusBytes(pid, 'VmHWM') : undefined;
  const after = await upstreamCounters(bench);
  return {
    spec,
    result,
    grantdCpuUs: cpuUs,
    grantdCpuUsPerRequest: cpuUs === undefined ? undefined : cpuUs / Math.max(1, result.requests),
    grantdPeakRss: hwm === undefined ? sampled : Math.max(hwm, sampled ?? 0),
    grantdStartRss: startRss,
    upstream: difference(after, before),
  };
}

function difference(after: UpstreamCounters, before: UpstreamCounters): UpstreamCounters {
  return {
    total: after.total - before.total,
    connections: after.connections - before.connections,
    authorized: after.authorized - before.authorized,
    wrongAuthorization: after.wrongAuthorization - before.wrongAuthorization,
    leakedProxyHeaders: after.leakedProxyHeaders - before.leakedProxyHeaders,
    tokenRequests: after.tokenRequests - before.tokenRequests,
    oauthAuthorized: after.oauthAuthorized - before.oauthAuthorized,
    oauthRefused: after.oauthRefused - before.oauthRefused,
  };
}

/**
 * Refuses a run that measured anything but the intended answers: every
 * response a 200 with the whole body, every request seen by the upstream
 * (so grantd did not answer itself), the grant's token on each injected
 * request and on no other, and no proxy header leaking through.
 */
export function verify(run: RunRequest, measurement: Measurement, bodyBytes: number): void {
  const { result, upstream } = measurement;
  const label = runLabel(run);
  const fail = (why: string): never => {
    throw new BenchFailure(`${label}: ${why}`);
  };
  if (result.requests === 0) fail('no request completed');
  if (result.ok !== result.requests) {
    fail(
      `${result.requests - result.ok} of ${result.requests} responses were not 200 ` +
        `(statuses ${JSON.stringify(result.statuses)}; first error: ${result.firstError ?? 'none'})`,
    );
  }
  if (result.bytes !== result.ok * bodyBytes) {
    fail(`read ${result.bytes} body bytes, expected ${result.ok} x ${bodyBytes}`);
  }
  if (upstream.total !== result.sent) {
    fail(`the upstream saw ${upstream.total} requests, the client sent ${result.sent}`);
  }
  if (run.scenario.injects && upstream.authorized !== upstream.total) {
    fail(
      `only ${upstream.authorized} of ${upstream.total} requests reached the upstream with the ` +
        `grant's Authorization header`,
    );
  }
  if (!run.scenario.injects && upstream.authorized + upstream.wrongAuthorization > 0) {
    fail(`${upstream.authorized} requests carried an Authorization header nobody sent`);
  }
  if (upstream.wrongAuthorization > 0) {
    fail(`${upstream.wrongAuthorization} requests carried a wrong Authorization value`);
  }
  // The client code is the same on both routes, so a direct run proves the
  // new-connection scenario really opens one connection per request.
  if (run.scenario.newConnection && run.mode === 'direct' && upstream.connections !== result.sent) {
    fail(`${upstream.connections} TLS connections for ${result.sent} requests; expected one each`);
  }
  if (upstream.leakedProxyHeaders > 0) {
    fail(`${upstream.leakedProxyHeaders} requests reached the upstream with a proxy header`);
  }
}
