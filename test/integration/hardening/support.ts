import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CLI } from '../../helpers/daemon.js';

/** What a quiet upstream saw of one request: enough to check invariants, no body. */
export interface QuietRequest {
  url: string;
  rawHeaders: string[];
}

/** A fake upstream that answers every request with a fixed body, never echoing it. */
export interface QuietUpstream {
  port: number;
  /** Every request so far, in order; the test may empty it. */
  seen: QuietRequest[];
  close(): Promise<void>;
}

/**
 * An HTTPS (or, without tls, HTTP) server on 127.0.0.1 that answers 200
 * `{"ok":true}` to anything. Unlike test/helpers/upstream.ts it echoes
 * nothing back, so a token seen by a client can only have come from grantd.
 */
export async function startQuietUpstream(
  tls?: { cert: string; key: string },
  options: { onRequest?: (req: IncomingMessage) => void; delayMs?: number } = {},
): Promise<QuietUpstream> {
  const seen: QuietRequest[] = [];
  const sockets = new Set<Socket>();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    seen.push({ url: req.url ?? '', rawHeaders: req.rawHeaders });
    options.onRequest?.(req);
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.resume();
    req.on('end', () => {
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
        res.end('{"ok":true}');
      };
      if (options.delayMs) setTimeout(answer, options.delayMs);
      else answer();
    });
  };
  const server = tls
    ? createHttpsServer({ ...tls, keepAlive: true }, listener)
    : createServer({ keepAlive: true }, listener);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket: Socket) => socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The resident set size of a process in bytes, from /proc/<pid>/status (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kib) * 1024;
}

/** Every regular file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** A small, fast, seedable PRNG (mulberry32), so a fuzz run can be replayed. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/**
 * Runs the grantd CLI with stdout going to a file, as a script saving its
 * output would, and returns what it wrote (cli-output.test.ts compares this
 * with a pipe).
 */
export async function runCliToFile(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const path = join(mkdtempSync(join(tmpdir(), 'grantd-out-')), 'stdout');
  const fd = openSync(path, 'w');
  try {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', fd, 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stdout: readFileSync(path, 'utf8'), stderr };
  } finally {
    closeSync(fd);
  }
}
