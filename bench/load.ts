/**
 * The load generator, a child process of its own so that its CPU never
 * lands on grantd's core or in the orchestrator's figures. For each LoadSpec
 * it gets over IPC it makes a fresh client, warms up, waits for `go` (the
 * orchestrator reads grantd's CPU counters in between), runs the measured
 * requests and reports. One process serves the whole suite: spawning one per
 * run cost a third of a quick run, and both routes share the warmed-up JIT.
 */
import { createClient, type BenchClient } from './clients/client.js';
import type { LoadCommand, LoadMessage, LoadResult, LoadSpec } from './protocol.js';
import { summarize } from './stats.js';

/** A run with this many failed requests stops early: it will be reported as failed anyway. */
const MAX_ERRORS = 100;

interface Tally {
  statuses: Record<string, number>;
  ok: number;
  errors: number;
  firstError: string | undefined;
  bytes: number;
  done: number;
}

function newTally(): Tally {
  return { statuses: {}, ok: 0, errors: 0, firstError: undefined, bytes: 0, done: 0 };
}

/**
 * Sends `count` requests from `concurrency` workers, each sending its next
 * request when the previous one finished (a closed loop), until the count or
 * the deadline is reached. Latencies go into `latencies` when given.
 */
async function drive(
  client: BenchClient,
  spec: LoadSpec,
  count: number,
  deadline: number,
  latencies?: Float64Array,
  headers?: Record<string, string>,
): Promise<Tally> {
  const tally = newTally();
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < count && Date.now() < deadline && tally.errors < MAX_ERRORS) {
      issued += 1;
      const started = process.hrtime.bigint();
      try {
        const reply = await client.send(headers);
        tally.statuses[reply.status] = (tally.statuses[reply.status] ?? 0) + 1;
        if (reply.status === 200) tally.ok += 1;
        tally.bytes += reply.bytes;
      } catch (error) {
        tally.errors += 1;
        tally.statuses.error = (tally.statuses.error ?? 0) + 1;
        tally.firstError ??= error instanceof Error ? error.message : String(error);
      }
      if (latencies) latencies[tally.done] = Number(process.hrtime.bigint() - started) / 1e6;
      tally.done += 1;
    }
  };
  const workers = Math.min(spec.concurrency, count);
  await Promise.all(Array.from({ length: workers }, worker));
  return tally;
}

/** Resolves once the message is handed to the channel, so a disconnect after it cannot drop it. */
function send(message: LoadMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, undefined, () => resolve());
  });
}

const inbox: LoadCommand[] = [];
let waiting: ((command: LoadCommand) => void) | undefined;
process.on('message', (command: LoadCommand) => {
  const take = waiting;
  waiting = undefined;
  if (take) take(command);
  else inbox.push(command);
});

function nextCommand(): Promise<LoadCommand> {
  const queued = inbox.shift();
  if (queued) return Promise.resolve(queued);
  return new Promise((resolve) => (waiting = resolve));
}

async function measure(spec: LoadSpec, client: BenchClient): Promise<LoadResult> {
  const start = Date.now();
  const warm = await drive(
    client,
    spec,
    spec.warmup,
    start + spec.timeCapMs,
    undefined,
    spec.warmupHeaders,
  );
  if (warm.errors > 0) {
    throw new Error(`warm-up failed: ${warm.errors} errors, first: ${warm.firstError ?? '?'}`);
  }
  await send({ type: 'warm' });
  await nextCommand();

  const latencies = new Float64Array(spec.requests);
  const cpuBefore = process.cpuUsage();
  const began = process.hrtime.bigint();
  const tally = await drive(client, spec, spec.requests, Date.now() + spec.timeCapMs, latencies);
  const durationMs = Number(process.hrtime.bigint() - began) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);

  const summary = summarize(latencies.subarray(0, tally.done));
  return {
    requests: tally.done,
    ok: tally.ok,
    statuses: tally.statuses,
    firstError: tally.firstError,
    sent: warm.done + tally.done,
    durationMs,
    rps: tally.done / (durationMs / 1000),
    p50Ms: summary.p50,
    p99Ms: summary.p99,
    meanMs: summary.mean,
    bytes: tally.bytes,
    clientCpuUsPerRequest: tally.done > 0 ? (cpu.user + cpu.system) / tally.done : 0,
    capped: tally.done < spec.requests,
  };
}

async function serve(spec: LoadSpec): Promise<void> {
  const client = createClient(spec);
  try {
    await send({ type: 'result', result: await measure(spec, client) });
  } catch (error) {
    await send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  } finally {
    await client.close();
  }
}

/**
 * Serves runs until the orchestrator closes the channel; with it gone and
 * every client closed, nothing keeps the process alive and it ends.
 */
async function main(): Promise<void> {
  for (;;) {
    const command = await nextCommand();
    if (command.type === 'run') await serve(command.spec);
  }
}

process.once('disconnect', () => process.removeAllListeners('message'));
void main();
