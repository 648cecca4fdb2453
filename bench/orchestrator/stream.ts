import type { BenchOptions } from '../options.js';
import type { ClientKind } from '../protocol.js';
import { STREAM_PATH } from '../protocol.js';
import { measure, verify, type Bench } from './measure.js';
import { SCENARIOS } from './scenarios.js';

/** A large injected download, to show grantd streams rather than buffers. */
export interface StreamResult {
  bytes: number;
  directMiBps: number;
  grantdMiBps: number;
  /** grantd's RSS just before the download, in bytes. */
  startRss: number;
  /** The highest RSS sampled during it. */
  peakRss: number;
  /** peakRss - startRss. */
  growth: number;
  grantdCpuMsPerGiB: number;
}

const MIB = 1024 * 1024;

/** One streamed download of `options.streamBytes`, direct then through grantd with a grant. */
export async function runStream(
  bench: Bench,
  options: BenchOptions,
  client: ClientKind,
): Promise<StreamResult> {
  const scenario = SCENARIOS.find((s) => s.id === 'inject');
  if (!scenario) throw new Error('no inject scenario');
  const bytes = options.streamBytes;
  const base = {
    scenario,
    client,
    concurrency: 1,
    requests: 1,
    warmup: 0,
    timeCapMs: 300_000,
    path: `${STREAM_PATH}?bytes=${bytes}`,
    sampleRss: true,
  };
  const direct = await measure(bench, { ...base, mode: 'direct' });
  verify({ ...base, mode: 'direct' }, direct, bytes);
  const viaGrantd = await measure(bench, { ...base, mode: 'grantd' });
  verify({ ...base, mode: 'grantd' }, viaGrantd, bytes);

  const startRss = viaGrantd.grantdStartRss ?? 0;
  const peakRss = viaGrantd.grantdPeakRss ?? 0;
  const mibps = (ms: number) => bytes / MIB / (ms / 1000);
  return {
    bytes,
    directMiBps: mibps(direct.result.durationMs),
    grantdMiBps: mibps(viaGrantd.result.durationMs),
    startRss,
    peakRss,
    growth: peakRss - startRss,
    grantdCpuMsPerGiB: ((viaGrantd.grantdCpuUs ?? 0) / 1000) * ((1024 * MIB) / bytes),
  };
}
