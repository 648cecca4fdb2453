/**
 * `npm run bench`: grantd's benchmark suite. See bench/README.md for what
 * it measures and how to read the table.
 */
import { join } from 'node:path';

import { BENCH_DIST } from './orchestrator/children.js';
import { BenchFailure } from './orchestrator/measure.js';
import { publish, runBenchmark } from './orchestrator/run.js';
import { HELP, parseOptions } from './options.js';

/** bench/results in the source tree (git-ignored), not under dist/. */
const DEFAULT_RESULTS = join(BENCH_DIST, '..', '..', 'bench', 'results');

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  if (options === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const argv = process.argv.slice(2);
  const command = ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' ');
  // The BENCH_* variables that shaped this run, so the report says how to repeat it.
  const prefix = Object.entries(process.env)
    .filter(([name, value]) => name.startsWith('BENCH_') && value)
    .map(([name, value]) => `${name}=${value}`);
  const report = await runBenchmark(options, [...prefix, command].join(' '));
  const files = publish(report, options.resultsDir ?? DEFAULT_RESULTS);
  process.stderr.write(`\nwrote ${files.join(' and ')}\n`);
}

main().catch((error: unknown) => {
  const what = error instanceof BenchFailure ? 'BENCHMARK CHECK FAILED' : 'benchmark failed';
  process.stderr.write(`\n${what}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
