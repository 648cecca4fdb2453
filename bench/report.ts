import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { ClientChoice } from './orchestrator/calibrate.js';
import type { Pinning } from './orchestrator/children.js';
import type { Row } from './orchestrator/rows.js';
import type { StormResult } from './orchestrator/storm.js';
import type { StreamResult } from './orchestrator/stream.js';
import type { MicroFigure } from './protocol.js';

/** Readiness of `grantd start`, from spawn to the first 200 from /readyz. */
export interface StartupFigures {
  /** First start: makes the data folder, the CA and the database. */
  coldMs: number;
  /** Later starts on the existing data folder. */
  warmMs: number[];
  warmMedianMs: number;
  /** RSS right after the benchmark daemon became ready, in bytes. */
  idleRss: number;
}

/** Everything a run produced; written as JSON beside the Markdown. */
export interface BenchReport {
  startedAt: string;
  durationS: number;
  command: string;
  quick: boolean;
  rounds: number;
  machine: {
    cpu: string;
    cores: number;
    node: string;
    kernel: string;
    clockTicks: number;
    /** 1-minute load average when the run began: other work on the machine skews every figure. */
    loadAverage: number;
  };
  pinning: Pinning | undefined;
  /** Cpus_allowed_list of grantd and the upstream as the kernel reports it. */
  cpusAllowed: { grantd: string; upstream: string };
  /** Whether VmHWM could be reset per scenario; else peaks are sampled every 25 ms. */
  peakRssMethod: 'VmHWM' | 'sampled';
  client: ClientChoice;
  startup: StartupFigures;
  rows: Row[];
  stream: StreamResult | { skipped: string };
  storm: StormResult | { skipped: string };
  micro: MicroFigure[] | { skipped: string };
  /** Audit rows grantd wrote for the bench grant, checked against the injected requests sent. */
  auditRows: number;
  /** The same for the storm's OAuth grant. */
  stormAuditRows: number;
  notes: string[];
}

const MIB = 1024 * 1024;

const fixed = (value: number, digits: number) => value.toFixed(digits);
const mib = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : fixed(bytes / MIB, 1));
const ms = (value: number) => (value < 10 ? fixed(value, 2) : fixed(value, 1));

/** Lines naming where the run happened and how; shared by the header and the JSON notes. */
function describeSetup(report: BenchReport): string[] {
  const m = report.machine;
  const pin = report.pinning
    ? `grantd on core ${report.pinning.grantd}; load generator, upstream and orchestrator on ` +
      `core ${report.pinning.others} (taskset -c; the kernel reports Cpus_allowed_list ` +
      `${report.cpusAllowed.grantd} for grantd, ${report.cpusAllowed.upstream} for the upstream)`
    : 'none (no taskset or fewer than 2 cores, or BENCH_NO_PIN); ratios include CPU contention';
  const costs = report.client.costs
    .map(
      (c) =>
        `${c.client}: ${fixed(c.directCpuUsPerRequest, 0)} µs/req direct, ` +
        `${fixed(c.grantdCpuUsPerRequest, 0)} µs/req through grantd ` +
        `(${fixed(c.directRps, 0)} / ${fixed(c.grantdRps, 0)} req/s)`,
    )
    .join('; ');
  return [
    `- command: \`${report.command}\` (${report.quick ? 'quick smoke run' : 'full run'}, ` +
      `${report.rounds} round${report.rounds > 1 ? 's' : ''} per row, best req/s reported)`,
    `- machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, Linux ${m.kernel}, CLK_TCK ` +
      `${m.clockTicks}, load average ${fixed(m.loadAverage, 2)} at start`,
    `- pinning: ${pin}`,
    `- client: ${report.client.client} (${report.client.reason})${costs ? `; ${costs}` : ''}`,
    `- startup to /readyz 200: ${fixed(report.startup.warmMedianMs, 0)} ms with an existing data ` +
      `folder (median of ${report.startup.warmMs.map((v) => fixed(v, 0)).join(', ')} ms); first ` +
      `start ${fixed(report.startup.coldMs, 0)} ms; idle RSS ${mib(report.startup.idleRss)} MiB`,
    `- audit: ${report.auditRows} ok rows for the bench grant and ${report.stormAuditRows} for ` +
      'the storm grant, one per injected request sent through grantd (checked)',
    `- peak RSS: ${report.peakRssMethod === 'VmHWM' ? 'VmHWM, reset before each run' : 'VmRSS sampled every 25 ms'}`,
  ];
}

function rowLine(row: Row): string {
  const flag = row.direct.capped || row.grantd.capped ? ' (time cap)' : '';
  return (
    `| ${row.scenario}${flag} | ${row.concurrency} | ${row.requests} | ` +
    `${fixed(row.direct.rps, 0)} | ${fixed(row.grantd.rps, 0)} | ${fixed(row.ratio, 2)} | ` +
    `${ms(row.direct.p50Ms)} / ${ms(row.direct.p99Ms)} | ` +
    `${ms(row.grantd.p50Ms)} / ${ms(row.grantd.p99Ms)} | ` +
    `${fixed(row.grantdCpuUsPerRequest, 0)} | ${mib(row.grantdPeakRss)} |`
  );
}

function streamLines(stream: BenchReport['stream']): string[] {
  if ('skipped' in stream) return [`Skipped: ${stream.skipped}.`];
  return [
    `${fixed(stream.bytes / MIB, 0)} MiB injected download: direct ${fixed(stream.directMiBps, 0)} ` +
      `MiB/s, through grantd ${fixed(stream.grantdMiBps, 0)} MiB/s; grantd RSS ` +
      `${mib(stream.startRss)} MiB before, peak ${mib(stream.peakRss)} MiB, growth ` +
      `**${mib(stream.growth)} MiB**; grantd CPU ${fixed(stream.grantdCpuMsPerGiB, 0)} ms per GiB.`,
  ];
}

function stormLines(storm: BenchReport['storm']): string[] {
  if ('skipped' in storm) return [`Skipped: ${storm.skipped}.`];
  const shared = storm.sharedRefresh === undefined ? 'n/a' : String(storm.sharedRefresh);
  return [
    `${storm.requests} injected requests sent at once through grantd for one OAuth grant whose ` +
      `access token had expired, over ${storm.connections} keep-alive tunnels (undici, ` +
      `${storm.pipelining} pipelined per tunnel); the token endpoint answers after ` +
      `${storm.refreshDelayMs} ms.`,
    '',
    '| refreshes at the token endpoint | requests | shared the refresh | p50 ms | p99 ms | wall ms | grantd CPU µs/request | upstream conns |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    `| **${storm.refreshes}** (checked: exactly 1) | ${storm.requests} | ${shared} | ` +
      `${ms(storm.p50Ms)} | ${ms(storm.p99Ms)} | ${fixed(storm.wallMs, 0)} | ` +
      `${fixed(storm.grantdCpuUsPerRequest, 0)} | ${storm.upstreamConnections} |`,
    '',
    '- shared the refresh: audit rows marked `refreshed`, i.e. requests that waited on the one ' +
      'refresh rather than finding the new token stored',
    '- upstream conns: TLS connections the upstream accepted, warm-up and the token endpoint ' +
      'included',
  ];
}

function microLines(micro: BenchReport['micro']): string[] {
  if ('skipped' in micro) return [`Skipped: ${micro.skipped}.`];
  return [
    '| figure | count | per second | CPU µs each | what |',
    '| --- | --- | --- | --- | --- |',
    ...micro.map(
      (f) =>
        `| ${f.name} | ${f.count} | ${fixed(f.perSecond, 0)} | ` +
        `${f.cpuUsPerItem === undefined ? '' : fixed(f.cpuUsPerItem, 1)} | ${f.note} |`,
    ),
  ];
}

/** The report as Markdown: setup, the scenario table, the download, micro figures, notes. */
export function formatMarkdown(report: BenchReport): string {
  const scenarios = [...new Map(report.rows.map((r) => [r.scenario, r.title])).entries()];
  return [
    `# grantd benchmark, ${report.startedAt}`,
    '',
    ...describeSetup(report),
    '',
    '## Scenarios',
    '',
    '| scenario | concurrency | requests | direct req/s | grantd req/s | ratio | direct p50 / p99 ms | grantd p50 / p99 ms | grantd CPU µs/request | peak RSS MiB |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...report.rows.map(rowLine),
    '',
    ...scenarios.map(([id, title]) => `- \`${id}\`: ${title}`),
    '- ratio: grantd req/s over direct req/s; CPU: grantd utime+stime (all threads) per measured request',
    '',
    '## Streamed download',
    '',
    ...streamLines(report.stream),
    '',
    '## Refresh storm',
    '',
    ...stormLines(report.storm),
    '',
    '## Micro figures',
    '',
    ...microLines(report.micro),
    '',
    ...(report.notes.length > 0 ? ['## Notes', '', ...report.notes.map((n) => `- ${n}`), ''] : []),
    `Finished in ${fixed(report.durationS, 0)} s.`,
    '',
  ].join('\n');
}

/** Writes `<stamp>.md` and `<stamp>.json` into `dir`; returns their paths. */
export function writeResults(report: BenchReport, markdown: string, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const md = join(dir, `${stamp}.md`);
  const json = join(dir, `${stamp}.json`);
  writeFileSync(md, markdown);
  writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  return [md, json];
}
