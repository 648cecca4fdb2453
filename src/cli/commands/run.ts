import { spawn } from 'node:child_process';
import { constants } from 'node:os';

import type { ArgumentsCamelCase } from 'yargs';

import { EXIT, ExitError } from '../exit.js';
import { proxyEnvFor, type AppArgs } from './env.js';

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Runs `-- CMD ARGS…` with grantd's variables; resolves with the child's exit code. */
export async function run(
  args: ArgumentsCamelCase<AppArgs & { '--'?: (string | number)[] }>,
): Promise<number> {
  const command = (args['--'] ?? []).map(String);
  const [file, ...rest] = command;
  if (file === undefined) {
    throw new ExitError(
      EXIT.usage,
      'grantd run: name a program after --, e.g. grantd run -- curl https://example.com/',
    );
  }
  const env = { ...process.env, ...Object.fromEntries(await proxyEnvFor(args)) };

  const child = spawn(file, rest, { env, stdio: 'inherit' });
  const relay = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, relay);

  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ENOENT' ? 'command not found' : error.message;
      reject(new ExitError(127, `grantd run: ${file}: ${reason}`));
    });
    child.once('exit', (code, signal) => {
      for (const s of FORWARDED_SIGNALS) process.off(s, relay);
      // The shell convention: a child killed by a signal exits 128 + its number.
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
