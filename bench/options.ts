import type { ClientKind } from './protocol.js';

/** How a benchmark run is shaped; from the environment, or `--quick`-style flags. */
export interface BenchOptions {
  /** A smoke run: a few hundred requests per scenario, under a minute in all. */
  quick: boolean;
  /** Direct/grantd pairs per scenario and concurrency; the best of them is reported. */
  rounds: number;
  /** Skip the 1 GiB streamed download. */
  skipStream: boolean;
  /** Bytes for the streamed download. */
  streamBytes: number;
  /** Skip leaf-minting and audit-write figures. */
  skipMicro: boolean;
  /** Skip the refresh storm (only --only does). */
  skipStorm: boolean;
  /** Force one client instead of measuring both and taking the cheaper. */
  client: ClientKind | undefined;
  noPin: boolean;
  /** Where results go; bench/results in the source tree. */
  resultsDir: string | undefined;
  /** Scenario ids to run (all when undefined); `stream`, `storm` and `micro` name those parts. */
  only: Set<string> | undefined;
}

const HELP = `npm run bench [-- options]

  --quick            smoke run, a few hundred requests each (BENCH_QUICK=1)
  --rounds N         direct/grantd pairs per row, best reported (BENCH_ROUNDS, default 2; quick 1)
  --skip-stream      no 1 GiB download (BENCH_SKIP_STREAM=1)
  --stream-mib N     size of the streamed download (BENCH_STREAM_MIB, default 1024; quick 64)
  --skip-micro       no leaf/audit micro figures (BENCH_SKIP_MICRO=1)
  --client C         node | undici, instead of measuring both (BENCH_CLIENT)
  --no-pin           do not pin with taskset (BENCH_NO_PIN=1)
  --out DIR          results folder (BENCH_OUT, default bench/results)
  --only A,B         run only these parts: tunnel, intercept, inject, inject-64k,
                     inject-new-conn, inject-required, stream, storm, micro (BENCH_ONLY)
`;

/** What --only may name: the scenarios, plus the download, the storm and the micro figures. */
const PARTS = [
  'tunnel',
  'intercept',
  'inject',
  'inject-64k',
  'inject-new-conn',
  'inject-required',
  'stream',
  'storm',
  'micro',
];

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = env[name];
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

/** Reads options; throws with the usage text on an unknown flag or bad value. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  const args = [...argv];
  const take = (name: string): string => {
    const value = args.shift();
    if (value === undefined) throw new Error(`${name} needs a value\n\n${HELP}`);
    return value;
  };
  let quick = flag(env, 'BENCH_QUICK');
  let rounds = env.BENCH_ROUNDS;
  let skipStream = flag(env, 'BENCH_SKIP_STREAM');
  let streamMib = env.BENCH_STREAM_MIB;
  let skipMicro = flag(env, 'BENCH_SKIP_MICRO');
  let client = env.BENCH_CLIENT || undefined;
  let noPin = flag(env, 'BENCH_NO_PIN');
  let resultsDir = env.BENCH_OUT || undefined;
  let only = env.BENCH_ONLY || undefined;

  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === '--help' || arg === '-h') return 'help';
    else if (arg === '--quick') quick = true;
    else if (arg === '--rounds') rounds = take(arg);
    else if (arg === '--skip-stream') skipStream = true;
    else if (arg === '--stream-mib') streamMib = take(arg);
    else if (arg === '--skip-micro') skipMicro = true;
    else if (arg === '--client') client = take(arg);
    else if (arg === '--no-pin') noPin = true;
    else if (arg === '--out') resultsDir = take(arg);
    else if (arg === '--only') only = take(arg);
    else throw new Error(`unknown option ${arg}\n\n${HELP}`);
  }

  if (client !== undefined && client !== 'node' && client !== 'undici') {
    throw new Error(`client must be node or undici (got ${JSON.stringify(client)})`);
  }
  const parts = only === undefined ? undefined : new Set(only.split(',').map((p) => p.trim()));
  const unknown = [...(parts ?? [])].filter((part) => !PARTS.includes(part));
  if (unknown.length > 0) {
    throw new Error(
      `unknown part(s) for --only: ${unknown.join(', ')}; known: ${PARTS.join(', ')}`,
    );
  }
  return {
    quick,
    rounds: positive('rounds', rounds, quick ? 1 : 2),
    skipStream: skipStream || (parts !== undefined && !parts.has('stream')),
    streamBytes: positive('stream-mib', streamMib, quick ? 64 : 1024) * 1024 * 1024,
    skipMicro: skipMicro || (parts !== undefined && !parts.has('micro')),
    skipStorm: parts !== undefined && !parts.has('storm'),
    client,
    noPin,
    resultsDir,
    only: parts,
  };
}

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer (got ${JSON.stringify(text)})`);
  }
  return value;
}

export { HELP };
