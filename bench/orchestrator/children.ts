import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** dist/bench, where the compiled child scripts sit beside this file's folder. */
export const BENCH_DIST = join(import.meta.dirname, '..');

/** Cores each part runs on, or undefined when pinning is off. */
export interface Pinning {
  grantd: number;
  /** The load generator, the upstream and the orchestrator share this one. */
  others: number;
}

/**
 * On two or more cores with `taskset`, grantd gets core 0 to itself and the
 * rest share core 1, so grantd's CPU is neither stolen by nor charged to the
 * load generator. BENCH_NO_PIN=1 turns it off.
 */
export function choosePinning(disabled: boolean): Pinning | undefined {
  if (disabled || availableParallelism() < 2) return undefined;
  const probe = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? { grantd: 0, others: 1 } : undefined;
}

/** Moves this process and all its threads to `cpu`. */
export function pinSelf(cpu: number): void {
  spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

/** A child process and what it wrote, for error messages. */
export interface Child {
  process: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<number | null>;
}

export interface SpawnOptions {
  /** Pin to this core with taskset (which execs, so the pid stays node's). */
  cpu?: number | undefined;
  env?: NodeJS.ProcessEnv;
  ipc?: boolean;
  /** Flags for node itself, before the script (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

/** Runs a Node script as a child, with process.execPath, optionally pinned. */
export function spawnNode(script: string, args: string[], options: SpawnOptions = {}): Child {
  const argv = [...(options.nodeArgs ?? []), script, ...args];
  const [command, commandArgs] =
    options.cpu === undefined
      ? [process.execPath, argv]
      : ['taskset', ['-c', String(options.cpu), process.execPath, ...argv]];
  const child = spawn(command, commandArgs, {
    env: { ...process.env, ...options.env },
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    // The tail is what explains a failure; cap it so a chatty child cannot grow it.
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { process: child, pid: child.pid as number, output: () => output, exited };
}

/**
 * The next IPC message from `child` that `accept` takes, failing if the child
 * exits first or nothing comes within `timeoutMs`.
 */
export function nextMessage<T>(
  child: Child,
  accept: (message: unknown) => message is T,
  what: string,
  timeoutMs: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.process.off('message', onMessage);
      child.process.off('exit', onExit);
    };
    const onMessage = (message: unknown): void => {
      if (!accept(message)) return;
      cleanup();
      resolve(message);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`${what}: the child exited (${code}) first\n${child.output()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: no answer within ${timeoutMs} ms\n${child.output()}`));
    }, timeoutMs);
    child.process.on('message', onMessage);
    child.process.once('exit', onExit);
  });
}

/** Whether `value` is an object whose `type` is one of `types`. */
export function hasType<T extends { type: string }>(...types: T['type'][]) {
  return (value: unknown): value is T =>
    typeof value === 'object' && value !== null && types.includes((value as { type: string }).type);
}
