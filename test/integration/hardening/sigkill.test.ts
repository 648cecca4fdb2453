import { hostname } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

import BetterSqlite3 from 'better-sqlite3';
import { ProxyAgent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import type { ConfigInput } from '../../../src/config/schema.js';
import { rawConnection, readUntil } from '../../helpers/clients.js';
import { spawnDaemon, type ChildDaemon } from '../../helpers/daemon.js';
import { API_HOST, startFakeOAuth, type FakeOAuth } from '../../helpers/fake-oauth.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { runCliToFile, startQuietUpstream, type QuietUpstream } from './support.js';

const OPENAI_TOKEN = 'sk-sigkill-openai-4d3c2b1a0f9e8d7c';
const ANTHROPIC_TOKEN = 'sk-ant-sigkill-9a8b7c6d5e4f3a2b';
/** Clients sending at once; each has at most one request in flight. */
const CONCURRENCY = 16;
/** The daemon is killed once the clients have received this many responses. */
const KILL_AFTER = 1_000;
/**
 * Rows are written in a batch every 20 ms. On two busy cores the timer runs
 * late, so the test allows the rows of 100 ms at the measured rate (still a
 * few percent of the run), and separately that nothing older than 500 ms is
 * lost.
 */
const WINDOW_MS = 100;

let fake: FakeOAuth;
let upstream: QuietUpstream;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const pki = await createTestPki();
  fake = await startFakeOAuth(pki);
  // Imported tokens live an hour: no refresh (and so no rotation) runs under the load.
  fake.expiresIn = 3_600;
  upstream = await startQuietUpstream(await pki.issue(['api.openai.com', 'api.anthropic.com']));
});

afterEach(async () => {
  fake.refreshFailure = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await upstream?.close();
  await fake?.close();
});

interface Setup {
  overrides: ConfigInput;
  first: ChildDaemon;
  key: string;
}

/**
 * A daemon child with an app, a key and three grants: two static keys and an
 * OAuth token set (or, `light`, only the OpenAI key).
 */
async function setup(extra: ConfigInput = {}, light = false): Promise<Setup> {
  const overrides = fake.config({
    vault: { backend: 'file' },
    resolve: {
      'api.openai.com:443': `127.0.0.1:${upstream.port}`,
      'api.anthropic.com:443': `127.0.0.1:${upstream.port}`,
    },
    ...extra,
  });
  const first = await spawnDaemon(overrides);
  cleanups.push(() => first.stop());
  const cli = cliFor(first.home, first.configPath);
  await cli.createApp('load');
  const key = await cli.mintKey('load');
  await cli.addGrant('openai', 'load', 'ai', OPENAI_TOKEN);
  if (light) return { overrides, first, key };
  await cli.addGrant('anthropic', 'load', 'claude', ANTHROPIC_TOKEN);
  await cli.run(
    ['grant', 'import', 'fake', '--app', 'load', '--alias', 'acct'],
    JSON.stringify(fake.mintTokens()),
  );
  return { overrides, first, key };
}

async function restart(s: Setup): Promise<ChildDaemon> {
  const second = await spawnDaemon({ ...s.overrides, home: s.first.home });
  cleanups.push(() => second.stop());
  return second;
}

const ALIASES = ['ai', 'claude', 'acct'] as const;

function urlFor(alias: (typeof ALIASES)[number], n: number): string {
  const host = { ai: 'api.openai.com', claude: 'api.anthropic.com', acct: API_HOST }[alias];
  return `https://${host}/v1/load/${n}`;
}

function agentFor(daemon: ChildDaemon, key: string): ProxyAgent {
  const agent = new ProxyAgent({
    uri: proxyWith(daemon.proxyUrl, '_', key),
    requestTls: { ca: readFileSync(join(daemon.home, 'ca', 'ca.pem'), 'utf8') },
  });
  cleanups.push(() => agent.destroy());
  return agent;
}

/** A response a client received: the status line and Grantd-Request-Id arrived. */
interface Received {
  requestId: string;
  status: number;
  at: number;
}

interface LoadResult {
  received: Received[];
  /** Failures before the kill: there must be none. */
  errors: unknown[];
  killedAt: number;
}

/**
 * Runs CONCURRENCY clients against the daemon, each sending injected calls
 * round the three grants, and SIGKILLs the daemon once KILL_AFTER responses
 * have arrived, with every client still sending.
 */
async function loadThenKill(daemon: ChildDaemon, key: string): Promise<LoadResult> {
  const agent = agentFor(daemon, key);
  const received: Received[] = [];
  const errors: unknown[] = [];
  let killed = false;
  let sent = 0;
  let reached!: () => void;
  const enough = new Promise<void>((resolve) => (reached = resolve));

  const worker = async () => {
    while (!killed) {
      const n = sent++;
      const alias = ALIASES[n % ALIASES.length] as (typeof ALIASES)[number];
      try {
        const res = await request(urlFor(alias, n), {
          dispatcher: agent,
          headers: { 'grantd-grant': alias },
        });
        received.push({
          requestId: String(res.headers['grantd-request-id']),
          status: res.statusCode,
          at: performance.now(),
        });
        if (received.length >= KILL_AFTER) reached();
        await res.body.dump();
      } catch (error) {
        if (!killed) errors.push(error);
        return;
      }
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, worker);
  await Promise.race([enough, Promise.all(workers)]);
  killed = true;
  const killedAt = performance.now();
  daemon.child.kill('SIGKILL');
  expect((await daemon.exited).signal).toBe('SIGKILL');
  await Promise.all(workers);
  return { received, errors, killedAt };
}

/** `PRAGMA integrity_check` on the data folder's database, opened read-only. */
function integrityOf(home: string): string {
  const db = new BetterSqlite3(join(home, 'grantd.db'), { readonly: true, fileMustExist: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

/** After the restart: the store lists every grant, and each one still injects its credential. */
async function expectEveryGrantInjects(s: Setup, second: ChildDaemon): Promise<void> {
  const cli = cliFor(second.home, second.configPath);
  const grants = (await cli.run(['grant', 'list', '--json'])).stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { alias: string; status: string });
  expect(grants.map((g) => [g.alias, g.status]).sort()).toEqual([
    ['acct', 'active'],
    ['ai', 'active'],
    ['claude', 'active'],
  ]);

  const agent = agentFor(second, s.key);
  for (const [i, alias] of ALIASES.entries()) {
    const url = urlFor(alias, 1_000_000 + i);
    const res = await request(url, { dispatcher: agent, headers: { 'grantd-grant': alias } });
    await res.body.dump();
    expect(res.statusCode, `${alias} after the restart`).toBe(200);
  }
  const authorizationOf = (path: string) => {
    const seen = upstream.seen.find((r) => r.url === path);
    const at = seen?.rawHeaders.findIndex((h) => h.toLowerCase() === 'authorization') ?? -1;
    return at === -1 ? undefined : seen?.rawHeaders[at + 1];
  };
  expect(authorizationOf('/v1/load/1000000')).toBe(`Bearer ${OPENAI_TOKEN}`);
  // Anthropic takes x-api-key, and grantd drops any Authorization beside it.
  const claude = upstream.seen.find((r) => r.url === '/v1/load/1000001');
  expect(claude?.rawHeaders).toContain(ANTHROPIC_TOKEN);
  // The fake OAuth API answered 200 above only for a live token it issued.
  expect(fake.issuedAccessTokens.map((t) => `Bearer ${t}`)).toContain(fake.apiTokens.at(-1));
}

/** `grantd audit --json --limit 100000`, by request id. */
async function auditRows(second: ChildDaemon): Promise<Map<string, Record<string, unknown>>> {
  const env = { GRANTD_HOME: second.home, GRANTD_CONFIG: second.configPath };
  const result = await runCliToFile(['audit', '--json', '--limit', '100000'], env);
  expect(result.code, result.stderr).toBe(0);
  const rows = result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const byId = new Map(rows.map((row) => [row.request_id as string, row]));
  // One row per request: a request id never repeats.
  expect(byId.size).toBe(rows.length);
  return byId;
}

describe('SIGKILL under load', () => {
  it(
    'leaves an intact database and vault, and loses at most the last audit batch (best_effort)',
    { timeout: 45_000 },
    async () => {
      const s = await setup();
      const { received, errors, killedAt } = await loadThenKill(s.first, s.key);
      expect(errors).toEqual([]);
      expect(received.length).toBeGreaterThanOrEqual(KILL_AFTER);
      expect(received.every((r) => r.status === 200 && r.requestId.startsWith('req_'))).toBe(true);

      // The file as the kill left it, then as the next start sees it.
      expect(integrityOf(s.first.home)).toBe('ok');
      const second = await restart(s);
      expect(integrityOf(second.home)).toBe('ok');
      await expectEveryGrantInjects(s, second);

      const rows = await auditRows(second);
      const missing = received.filter((r) => !rows.has(r.requestId));
      const first = received[0] as Received;
      const last = received.at(-1) as Received;
      const perMs = received.length / Math.max(1, last.at - first.at);
      // A row is queued when its response has been written out, so a client
      // may hold a response whose row was not even queued yet: one per client.
      const allowed = Math.ceil(perMs * WINDOW_MS) + CONCURRENCY;
      console.log(
        `sigkill best_effort: ${received.length} responses at ${perMs.toFixed(2)}/ms, ` +
          `${missing.length} without a row (allowed ${allowed})`,
      );
      expect(missing.length).toBeLessThanOrEqual(allowed);
      // What is lost is the tail: nothing answered well before the kill.
      const old = missing.filter((r) => killedAt - r.at > 500);
      expect(old).toEqual([]);
      for (const r of received) {
        const row = rows.get(r.requestId);
        if (row) expect(row).toMatchObject({ status: r.status, outcome: 'ok', app: 'load' });
      }
    },
  );

  it(
    'keeps the row of every response a client received when audit.mode is required',
    { timeout: 45_000 },
    async () => {
      const s = await setup({ audit: { mode: 'required' } });
      const { received, errors } = await loadThenKill(s.first, s.key);
      expect(errors).toEqual([]);
      expect(received.length).toBeGreaterThanOrEqual(KILL_AFTER);

      expect(integrityOf(s.first.home)).toBe('ok');
      const second = await restart(s);
      await expectEveryGrantInjects(s, second);
      const rows = await auditRows(second);
      const missing = received.filter((r) => !rows.has(r.requestId));
      console.log(
        `sigkill required: ${received.length} responses, ${missing.length} without a row`,
      );
      expect(missing).toEqual([]);
      for (const r of received) {
        expect(rows.get(r.requestId)).toMatchObject({ status: r.status, outcome: 'ok' });
      }
    },
  );
});

/** The audit row with this request id, read straight from the file a killed daemon left. */
function rowIn(home: string, requestId: string): Record<string, unknown> | undefined {
  const db = new BetterSqlite3(join(home, 'grantd.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT * FROM audit WHERE request_id = ?').get(requestId) as
      Record<string, unknown> | undefined;
  } finally {
    db.close();
  }
}

/** A refused call with a valid key: committed before its answer in required mode. */
async function refusedCall(agent: ProxyAgent): Promise<string> {
  const res = await request('https://api.openai.com/v1/refused', {
    dispatcher: agent,
    headers: { 'grantd-grant': 'no-such-grant' },
  });
  await res.body.dump();
  expect(res.statusCode).toBe(403);
  return String(res.headers['grantd-request-id']);
}

describe('audit.mode: required, when the daemon dies right after an answer', () => {
  // A keyless CONNECT gets its 407 from ProxyServer, not the grant flow: in
  // required mode it too is answered only once its row is committed.
  it('has committed the row of a CONNECT it refused with 407', async () => {
    const s = await setup({ audit: { mode: 'required' } }, true);
    const control = await refusedCall(agentFor(s.first, s.key));

    const socket = await rawConnection(s.first.proxyUrl);
    socket.write(`CONNECT ${API_HOST}:443 HTTP/1.1\r\nHost: ${API_HOST}:443\r\n\r\n`);
    const head = await readUntil(socket, '\r\n\r\n');
    s.first.child.kill('SIGKILL');
    await s.first.exited;
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 407 /);
    const requestId = /Grantd-Request-Id: (req_\w+)/i.exec(head)?.[1] as string;

    expect(rowIn(s.first.home, control)).toMatchObject({ outcome: 'grant_not_found' });
    expect(rowIn(s.first.home, requestId)).toMatchObject({
      method: 'CONNECT',
      outcome: 'proxy_auth_required',
    });
  });

  // The same for a 429, which is answered before the grant is chosen.
  it('has committed the row of a call it refused with 429', async () => {
    const s = await setup(
      { audit: { mode: 'required' }, limits: { per_key: { rate_per_s: 0.001, burst: 1 } } },
      true,
    );
    const agent = agentFor(s.first, s.key);
    const first = await request(urlFor('ai', 1), {
      dispatcher: agent,
      headers: { 'grantd-grant': 'ai' },
    });
    await first.body.dump();
    expect(first.statusCode).toBe(200);

    const limited = await request(urlFor('ai', 2), {
      dispatcher: agent,
      headers: { 'grantd-grant': 'ai' },
    });
    s.first.child.kill('SIGKILL');
    await s.first.exited;
    expect(limited.statusCode).toBe(429);
    const requestId = String(limited.headers['grantd-request-id']);

    expect(rowIn(s.first.home, String(first.headers['grantd-request-id']))).toBeDefined();
    expect(rowIn(s.first.home, requestId)).toMatchObject({ outcome: 'rate_limited' });
  });

  // A refusal's row is committed before the answer, with the status about to
  // be sent, so `grantd audit --status 4xx` finds it.
  it('records the status the client saw for a refused call', async () => {
    const s = await setup({ audit: { mode: 'required' } }, true);
    const requestId = await refusedCall(agentFor(s.first, s.key));
    expect(rowIn(s.first.home, requestId)).toMatchObject({
      status: 403,
      outcome: 'grant_not_found',
    });
  });
});

describe('SIGKILL during a token refresh', () => {
  // The refresh lock row of a killed daemon must not outlive it: the lock
  // names its owner's host and pid, and a dead local owner's lock is broken at
  // once, where waiting out its 30 s TTL would cost the first call 20 s and a
  // 502, and leave the grant unusable meanwhile.
  it(
    'lets the grant refresh on the first call after the restart',
    { timeout: 30_000 },
    async () => {
      const s = await setup();
      const cli = cliFor(s.first.home, s.first.configPath);
      // A token that goes stale within a second, so the next call must refresh.
      await cli.run(
        ['grant', 'import', 'fake', '--app', 'load', '--alias', 'short'],
        JSON.stringify({ ...fake.mintTokens(), expires_in: 1 }),
      );
      const refreshes = () => fake.tokenCalls.filter((c) => c.grantType === 'refresh_token').length;
      const before = refreshes();
      fake.refreshFailure = 'hang';
      const agent = agentFor(s.first, s.key);
      await vi.waitFor(
        async () => {
          const res = await request(`https://${API_HOST}/v1/stale`, {
            dispatcher: agent,
            headers: { 'grantd-grant': 'short' },
            headersTimeout: 300,
          }).catch(() => undefined);
          await res?.body.dump();
          // The call is held while grantd waits on the hanging token endpoint.
          expect(refreshes()).toBe(before + 1);
          // A loaded CI machine may take a few seconds to get there.
        },
        { timeout: 10_000, interval: 100 },
      );
      s.first.child.kill('SIGKILL');
      await s.first.exited;
      fake.refreshFailure = undefined;

      const second = await restart(s);
      const res = await request(`https://${API_HOST}/v1/after-restart`, {
        dispatcher: agentFor(second, s.key),
        headers: { 'grantd-grant': 'short' },
        headersTimeout: 5_000,
      });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
    },
  );
  // In a container grantd runs as pid 1, and a container restart (an OOM kill
  // is a SIGKILL) keeps the pod's host name: the new daemon has the very host
  // and pid its dead predecessor wrote into the lock. isDeadLocalOwner in
  // src/oauth/refresh-lock.ts takes a lock with our own pid for one of ours
  // and waits, so the grant is blocked for the lock's TTL as before. The
  // owner should also carry something that changes with each process (its
  // start time, or a per-process random id the process remembers), and a
  // lock with our host and pid but not our id is a predecessor's: dead.
  it(
    'breaks a lock left by an earlier process with the same host and pid, as after a container restart',
    { timeout: 30_000 },
    async () => {
      const s = await setup({}, true);
      const cli = cliFor(s.first.home, s.first.configPath);
      const grantId = (
        await cli.run(
          ['grant', 'import', 'fake', '--app', 'load', '--alias', 'restarted'],
          // Expired already: the first call must refresh, and so take the lock.
          JSON.stringify({
            ...fake.mintTokens(),
            expires_in: undefined,
            expires_at: Math.floor(Date.now() / 1000) - 60,
          }),
        )
      ).stdout.trim();
      expect(grantId).toMatch(/^gr_/);
      // What the predecessor left: this host, this daemon's pid, 30 s to run.
      const db = new BetterSqlite3(join(s.first.home, 'grantd.db'));
      db.prepare('INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)').run(
        `oauth-refresh:${grantId}`,
        `${hostname()}:${s.first.pid}:predecessor`,
        Date.now() + 30_000,
      );
      db.close();

      const res = await request(`https://${API_HOST}/v1/after-container-restart`, {
        dispatcher: agentFor(s.first, s.key),
        headers: { 'grantd-grant': 'restarted' },
        headersTimeout: 5_000,
      });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
      expect(fake.tokenCalls.at(-1)?.grantType).toBe('refresh_token');
    },
  );
});
