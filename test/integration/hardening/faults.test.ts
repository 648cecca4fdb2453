import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { ServerResponse } from 'node:http';

import BetterSqlite3 from 'better-sqlite3';
import { ProxyAgent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  runCli,
  spawnDaemon,
  startInProcess,
  tempDir,
  type ChildDaemon,
  type InProcessDaemon,
} from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki, type TestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

// The faults docs/operations.md describes, each provoked for real.

const TOKEN = 'sk-faults-test-0a1b2c3d4e5f6a7b';

let pki: TestPki;
let upstream: TestUpstream;
/** Responses of /v1/hold, held open until the test ends. */
const held: ServerResponse[] = [];
let holdArrived: () => void = () => undefined;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  upstream = await startUpstream(await pki.issue(['api.openai.com']), {
    streamRoutes: {
      // Sends the head and a tenth of the promised body, then drops the connection.
      '/v1/reset': (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        res.write('x'.repeat(100), () => res.socket?.destroy());
      },
      // Answers only when the test ends.
      '/v1/hold': (req, res) => {
        req.resume();
        held.push(res);
        holdArrived();
      },
    },
  });
});

afterEach(async () => {
  for (const res of held.splice(0)) res.end('released');
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await upstream?.close();
});

const overrides = (home?: string) => ({
  ...(home === undefined ? {} : { home }),
  vault: { backend: 'file' as const },
  resolve: { 'api.openai.com:443': `127.0.0.1:${upstream.port}` },
  upstream: { ca_file: pki.caPath },
});

async function withGrant(home: string, configPath: string): Promise<string> {
  const cli = cliFor(home, configPath);
  await cli.createApp('app');
  const key = await cli.mintKey('app');
  await cli.addGrant('openai', 'app', 'ai', TOKEN);
  return key;
}

function agentFor(proxyUrl: string, key: string, ca: string): ProxyAgent {
  const agent = new ProxyAgent({ uri: proxyWith(proxyUrl, '_', key), requestTls: { ca } });
  cleanups.push(() => agent.close());
  return agent;
}

async function injected(agent: ProxyAgent, path: string) {
  const res = await request(`https://api.openai.com${path}`, {
    dispatcher: agent,
    headers: { 'grantd-grant': 'ai' },
  });
  await res.body.dump();
  return {
    status: res.statusCode,
    code: res.headers['grantd-error'],
    requestId: String(res.headers['grantd-request-id']),
  };
}

async function readyz(adminUrl: string): Promise<{ status: number; body: unknown }> {
  const res = await request(`${adminUrl}/readyz`);
  return { status: res.statusCode, body: await res.body.json() };
}

function rowsFor(home: string, requestIds: string[]): Record<string, unknown>[] {
  const db = new BetterSqlite3(join(home, 'grantd.db'), { readonly: true });
  try {
    const get = db.prepare('SELECT * FROM audit WHERE request_id = ?');
    return requestIds.flatMap((id) => {
      const row = get.get(id) as Record<string, unknown> | undefined;
      return row === undefined ? [] : [row];
    });
  } finally {
    db.close();
  }
}

describe('an upstream that resets mid-response', () => {
  it('gives the client the status line and a truncated body, and audits upstream_reset', async () => {
    const grantd: InProcessDaemon = await startInProcess(overrides());
    cleanups.push(() => grantd.close());
    const key = await withGrant(grantd.config.home, grantd.configPath);
    const agent = agentFor(grantd.proxyUrl, key, grantd.daemon.authority.certPem);

    const res = await request('https://api.openai.com/v1/reset', {
      dispatcher: agent,
      headers: { 'grantd-grant': 'ai' },
    });
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
    const requestId = String(res.headers['grantd-request-id']);

    grantd.daemon.audit.flush();
    const [row] = rowsFor(grantd.config.home, [requestId]);
    expect(row).toMatchObject({ status: 200, outcome: 'upstream_reset' });
    const line = grantd.logs.find((l) => l.reqId === requestId && l.msg === 'request');
    expect(line).toMatchObject({ outcome: 'upstream_reset', status: 200 });
  });
});

describe('a vault file that vanishes', () => {
  it('answers 503 vault_unavailable for a grant not yet read, and recovers when restored', async () => {
    const grantd: InProcessDaemon = await startInProcess(overrides());
    cleanups.push(() => grantd.close());
    const key = await withGrant(grantd.config.home, grantd.configPath);
    const agent = agentFor(grantd.proxyUrl, key, grantd.daemon.authority.certPem);
    const vaultFile = join(grantd.config.home, 'vault.enc');
    renameSync(vaultFile, `${vaultFile}.away`);

    const before = upstream.seen.length;
    expect(await injected(agent, '/v1/vanished')).toMatchObject({
      status: 503,
      code: 'vault_unavailable',
    });
    expect(upstream.seen.length).toBe(before);

    renameSync(`${vaultFile}.away`, vaultFile);
    expect(await injected(agent, '/v1/restored')).toMatchObject({ status: 200 });
    expect(upstream.seen.at(-1)?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });
});

describe('the database locked by another process', () => {
  it(
    'keeps audit rows in memory, fails /readyz, and writes them once the lock is gone',
    { timeout: 30_000 },
    async () => {
      const grantd: ChildDaemon = await spawnDaemon(overrides());
      cleanups.push(() => grantd.stop());
      const key = await withGrant(grantd.home, grantd.configPath);
      const ca = readFileSync(join(grantd.home, 'ca', 'ca.pem'), 'utf8');
      const agent = agentFor(grantd.proxyUrl, key, ca);

      // Another process takes SQLite's write lock and keeps it.
      const holder = new BetterSqlite3(join(grantd.home, 'grantd.db'));
      holder.exec('BEGIN EXCLUSIVE');
      const held = Date.now();
      const first = await injected(agent, '/v1/while-locked');
      expect(first.status).toBe(200);
      await grantd.waitForLog((l) => String(l.msg).startsWith('cannot write audit rows'));
      // The daemon gives up on the lock after its short busy_timeout (100 ms),
      // rather than stalling its event loop for the CLI's 5 s.
      expect(Date.now() - held).toBeLessThan(4_500);

      const during = await readyz(grantd.adminUrl);
      expect(during).toMatchObject({ status: 503, body: { failing: ['store'] } });
      const second = await injected(agent, '/v1/still-locked');
      expect(second.status).toBe(200);

      holder.exec('COMMIT');
      holder.close();
      await grantd.waitForLog((l) => l.msg === 'audit writes recovered');
      expect((await readyz(grantd.adminUrl)).status).toBe(200);
      const rows = rowsFor(grantd.home, [first.requestId, second.requestId]);
      expect(rows.map((r) => r.path)).toEqual(['/v1/while-locked', '/v1/still-locked']);
    },
  );
});

describe('the database locked by another process, with audit.mode required', () => {
  it(
    'answers 503 audit_unavailable, after the upstream has already been called',
    { timeout: 30_000 },
    async () => {
      const grantd: ChildDaemon = await spawnDaemon({
        ...overrides(),
        audit: { mode: 'required' },
      });
      cleanups.push(() => grantd.stop());
      const key = await withGrant(grantd.home, grantd.configPath);
      const ca = readFileSync(join(grantd.home, 'ca', 'ca.pem'), 'utf8');
      const agent = agentFor(grantd.proxyUrl, key, ca);

      const holder = new BetterSqlite3(join(grantd.home, 'grantd.db'));
      cleanups.push(() => {
        holder.close();
      });
      holder.exec('BEGIN EXCLUSIVE');
      const before = upstream.seen.length;
      const refused = await injected(agent, '/v1/required-locked');
      expect(refused).toMatchObject({ status: 503, code: 'audit_unavailable' });
      // The row is committed when the upstream's answer arrives: the call was made.
      expect(upstream.seen.slice(before).map((r) => r.url)).toEqual(['/v1/required-locked']);
      holder.exec('COMMIT');
      expect((await injected(agent, '/v1/required-free')).status).toBe(200);
    },
  );
});

describe('the database locked by another process, for the other requests', () => {
  // better-sqlite3 is synchronous: a write waiting on another process's lock
  // waits inside the event loop. The daemon's short busy_timeout keeps that
  // wait to 100 ms, so the listeners keep answering while audit rows queue.
  it('keeps answering /healthz within a second', { timeout: 30_000 }, async () => {
    const grantd: ChildDaemon = await spawnDaemon(overrides());
    cleanups.push(() => grantd.stop());
    const key = await withGrant(grantd.home, grantd.configPath);
    const ca = readFileSync(join(grantd.home, 'ca', 'ca.pem'), 'utf8');
    const agent = agentFor(grantd.proxyUrl, key, ca);

    const holder = new BetterSqlite3(join(grantd.home, 'grantd.db'));
    cleanups.push(() => {
      holder.close();
    });
    holder.exec('BEGIN EXCLUSIVE');
    expect((await injected(agent, '/v1/while-locked')).status).toBe(200);
    let failed = false;
    void grantd
      .waitForLog((l) => String(l.msg).startsWith('cannot write audit rows'))
      .then(() => (failed = true));
    // Probe the admin listener until the daemon gives up on the lock.
    let slowest = 0;
    for (let probes = 0; !failed && probes < 100; probes++) {
      const started = Date.now();
      const res = await request(`${grantd.adminUrl}/healthz`);
      await res.body.dump();
      slowest = Math.max(slowest, Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    holder.exec('COMMIT');
    expect(slowest).toBeLessThan(1_000);
  });
});

/** Mounts a small tmpfs, for a disk that fills up; undefined where that is not allowed. */
function smallDisk(bytes: number): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const dir = tempDir('grantd-disk-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], {
      stdio: 'ignore',
    });
  } catch {
    return undefined;
  }
  cleanups.push(() => {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  });
  return dir;
}

describe('a full disk', () => {
  it(
    'keeps audit rows in memory, fails /readyz, and writes them once there is room',
    { timeout: 30_000 },
    async (ctx) => {
      const disk = smallDisk(8 * 1024 * 1024);
      if (disk === undefined) return ctx.skip();
      const home = join(disk, 'home');
      mkdirSync(home);
      const grantd: ChildDaemon = await spawnDaemon(overrides(home));
      cleanups.push(() => grantd.stop());
      const key = await withGrant(grantd.home, grantd.configPath);
      const ca = readFileSync(join(grantd.home, 'ca', 'ca.pem'), 'utf8');
      const agent = agentFor(grantd.proxyUrl, key, ca);
      expect((await injected(agent, '/v1/before-full')).status).toBe(200);

      // Fill every byte that is left.
      const filler = join(disk, 'filler');
      try {
        writeFileSync(filler, Buffer.alloc(8 * 1024 * 1024));
      } catch {
        // ENOSPC: the disk is full, which is the point.
      }
      const full = await injected(agent, '/v1/while-full');
      expect(full.status).toBe(200);
      await grantd.waitForLog((l) => String(l.msg).startsWith('cannot write audit rows'));
      expect(await readyz(grantd.adminUrl)).toMatchObject({
        status: 503,
        body: { failing: ['store'] },
      });

      rmSync(filler);
      await grantd.waitForLog((l) => l.msg === 'audit writes recovered');
      expect((await readyz(grantd.adminUrl)).status).toBe(200);
      expect(rowsFor(grantd.home, [full.requestId])).toHaveLength(1);
    },
  );
});

describe('SIGTERM', () => {
  it('writes every queued audit row before the process exits', { timeout: 30_000 }, async () => {
    const grantd: ChildDaemon = await spawnDaemon(overrides());
    cleanups.push(() => grantd.stop());
    const key = await withGrant(grantd.home, grantd.configPath);
    const ca = readFileSync(join(grantd.home, 'ca', 'ca.pem'), 'utf8');
    const agent = agentFor(grantd.proxyUrl, key, ca);
    const calls = await Promise.all(
      Array.from({ length: 20 }, (_, i) => injected(agent, `/v1/drained/${i}`)),
    );
    // Straight after the last answer, well inside the 20 ms batch.
    grantd.child.kill('SIGTERM');
    expect(await grantd.exited).toEqual({ code: 0, signal: null });
    const rows = rowsFor(
      grantd.home,
      calls.map((c) => c.requestId),
    );
    expect(rows).toHaveLength(20);
  });
});

describe('a second SIGTERM', () => {
  // The second signal calls close(0) while the first close() is still
  // draining: it must end the grace period, not wait it out.
  it('ends the drain at once', { timeout: 30_000 }, async () => {
    const grantd: ChildDaemon = await spawnDaemon({
      ...overrides(),
      shutdown: { grace_ms: 15_000 },
    });
    cleanups.push(() => grantd.stop());
    const key = await withGrant(grantd.home, grantd.configPath);
    const ca = readFileSync(join(grantd.home, 'ca', 'ca.pem'), 'utf8');
    const agent = agentFor(grantd.proxyUrl, key, ca);
    const arrived = new Promise<void>((resolve) => (holdArrived = resolve));
    const pending = injected(agent, '/v1/hold').catch(() => 'cut off');
    await arrived;

    grantd.child.kill('SIGTERM');
    await grantd.waitForLog((l) => l.msg === 'shutting down');
    grantd.child.kill('SIGTERM');
    await grantd.waitForLog((l) => l.msg === 'second signal: closing now');
    const started = Date.now();
    const ended = await Promise.race([
      grantd.exited.then(() => 'exited'),
      new Promise((resolve) => setTimeout(() => resolve('still draining'), 3_000)),
    ]);
    expect(ended, `after ${Date.now() - started} ms`).toBe('exited');
    expect(await pending).toBe('cut off');
  });
});

describe('a data folder written by a newer grantd', () => {
  it('is refused at start, naming the fix, and left as it is', async () => {
    const home = join(tempDir(), 'home');
    const env = { GRANTD_HOME: home, GRANTD_CONFIG: '' };
    expect((await runCli(['app', 'create', 'app'], { env })).code).toBe(0);
    const db = new BetterSqlite3(join(home, 'grantd.db'));
    db.pragma('user_version = 99');
    db.close();

    const result = await runCli(['app', 'list'], { env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/newer than this grantd understands.*upgrade grantd/s);
    const after = new BetterSqlite3(join(home, 'grantd.db'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(99);
    after.close();
  });
});
