import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { createInterface } from 'node:readline';

import { stringify } from 'yaml';

import { buildConfig, type LoadedConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/log/logger.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export function tempDir(prefix = 'grantd-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Config for a test daemon: ephemeral ports, a fresh data folder, quiet defaults. */
export function testConfig(overrides: ConfigInput = {}): ConfigInput {
  return {
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    home: join(tempDir(), 'home'),
    log: { level: 'info', format: 'json' },
    ...overrides,
  };
}

/** A daemon running inside the test process, with its log lines captured. */
export interface InProcessDaemon {
  daemon: Daemon;
  config: LoadedConfig;
  proxyUrl: string;
  adminUrl: string;
  /** Every log line, parsed. */
  logs: Record<string, unknown>[];
  /** Every log line as written, for leak checks. */
  rawLogs: string[];
  /** The daemon's config written as YAML, for `grantd --config`. */
  configPath: string;
  close(): Promise<void>;
}

export async function startInProcess(overrides: ConfigInput = {}): Promise<InProcessDaemon> {
  const input = testConfig(overrides);
  const config = buildConfig(input, { env: {} });
  // The same config as a file, for CLI commands run against this daemon.
  const configPath = join(tempDir(), 'grantd.yaml');
  writeFileSync(configPath, stringify(input));
  const rawLogs: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        rawLogs.push(line);
        logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const logger = createLogger({ ...config.log, destination: sink });
  const daemon = await startDaemon(config, logger);
  return {
    daemon,
    config,
    proxyUrl: `http://127.0.0.1:${daemon.proxyAddress.port}`,
    adminUrl: `http://127.0.0.1:${daemon.adminAddress.port}`,
    logs,
    rawLogs,
    configPath,
    close: () => daemon.close(0),
  };
}

/** grantd started as users start it: `grantd start --config FILE` in a child process. */
export interface ChildDaemon {
  child: ChildProcess;
  pid: number;
  proxyUrl: string;
  adminUrl: string;
  home: string;
  configPath: string;
  /** stdout lines so far (JSON log lines). */
  lines: string[];
  stderr: () => string;
  /** Resolves with the first log line for which `match` is true. */
  waitForLog(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal) once the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export async function spawnDaemon(
  overrides: ConfigInput = {},
  env: NodeJS.ProcessEnv = {},
): Promise<ChildDaemon> {
  const config = testConfig(overrides);
  const configPath = join(tempDir(), 'grantd.yaml');
  writeFileSync(configPath, stringify(config));
  const child = spawn(process.execPath, [CLI, 'start', '--config', configPath], {
    env: { ...process.env, ...env, GRANTD_HOME: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));

  const lines: string[] = [];
  const waiters: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    for (const waiter of [...waiters]) {
      if (waiter.match(parsed)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(parsed);
      }
    }
  });
  const waitForLog = (match: (l: Record<string, unknown>) => boolean) => {
    const found = lines.map((l) => safeParse(l)).find((l) => l && match(l));
    if (found) return Promise.resolve(found);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      waiters.push({ match, resolve });
      void exited.then(({ code }) =>
        reject(new Error(`grantd exited (${code}) before the log line came:\n${stderr}`)),
      );
    });
  };

  const ready = await waitForLog((l) => l.msg === 'grantd listening');
  return {
    child,
    pid: child.pid as number,
    proxyUrl: `http://${ready.proxy as string}`,
    adminUrl: `http://${ready.admin as string}`,
    home: config.home as string,
    configPath,
    lines,
    stderr: () => stderr,
    waitForLog,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

function safeParse(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Runs the grantd CLI to completion. */
export async function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(options.input ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** A TCP port that was free a moment ago, for tests that need a fixed listen address. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
