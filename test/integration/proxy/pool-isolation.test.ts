import type { TLSSocket } from 'node:tls';

import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

// grantd keeps one keep-alive pool for credentialed requests (Upstream's
// guarded agent), keyed by origin and not by grant: two apps calling the same
// host share its sockets. A socket that carried one app's call must carry the
// next app's call with that app's token alone.

const HOST = 'api.openai.com';
const PATH = '/v1/pool';
/** Sequential and burst requests per app. */
const ROUNDS = 60;
/**
 * Upstream sockets grantd may hold for the origin. Small, so the burst queues
 * in the pool and every socket passes from one app's request to another's.
 */
const MAX_SOCKETS = 4;

interface App {
  name: 'alpha' | 'beta';
  token: string;
  agent: ProxyAgent;
}

/** What the upstream saw of one request. */
interface Arrival {
  /** Which upstream TLS connection carried it, numbered in accept order. */
  conn: number;
  phase: string;
  app: string;
  seq: number;
  authorization: string[];
  /** The request line's target and every header value, for token counting. */
  everything: string;
}

const TOKENS = {
  alpha: 'sk-pool-alpha-4f1e9a2c7b3d5e6f8a0b',
  beta: 'sk-pool-beta-8c2d4e6f0a1b3c5d7e9f',
} as const;

let upstream: TestUpstream;
let grantd: InProcessDaemon;
const apps: App[] = [];
const arrivals: Arrival[] = [];
let connections = 0;

beforeAll(async () => {
  const pki = await createTestPki();
  upstream = await startUpstream(await pki.issue([HOST]));
  const connIds = new WeakMap<TLSSocket, number>();
  upstream.server.on('secureConnection', (socket: TLSSocket) => {
    connections += 1;
    connIds.set(socket, connections);
  });
  upstream.route(PATH, (req, res) => {
    const url = new URL(req.url ?? '/', `https://${HOST}`);
    const arrival: Arrival = {
      conn: connIds.get(req.socket as TLSSocket) ?? -1,
      phase: url.searchParams.get('phase') ?? '',
      app: url.searchParams.get('app') ?? '',
      seq: Number(url.searchParams.get('seq')),
      authorization: req.rawHeaders.filter(
        (_value, i) => i % 2 === 1 && req.rawHeaders[i - 1]?.toLowerCase() === 'authorization',
      ),
      everything: [req.url ?? '', ...req.rawHeaders].join('\n'),
    };
    arrivals.push(arrival);
    // The answer names the request and its connection, never a credential.
    const text = JSON.stringify({
      phase: arrival.phase,
      app: arrival.app,
      seq: arrival.seq,
      conn: arrival.conn,
    });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  });

  grantd = await startInProcess({
    resolve: { [`${HOST}:443`]: `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath, max_sockets_per_origin: MAX_SOCKETS },
  });
  const cli = cliFor(grantd.config.home);
  for (const name of ['alpha', 'beta'] as const) {
    await cli.createApp(name);
    const key = await cli.mintKey(name);
    // The same provider, host and alias: only the app key tells the grants apart.
    await cli.addGrant('openai', name, 'ai', TOKENS[name]);
    apps.push({
      name,
      token: TOKENS[name],
      agent: new ProxyAgent({
        uri: proxyWith(grantd.proxyUrl, '_', key),
        requestTls: { ca: [grantd.daemon.authority.certPem] },
        connections: 16,
      }),
    });
  }
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.agent.close()));
  await grantd?.close();
  await upstream?.close();
});

/** One call through grantd as `app`; checks what came back to the app. */
async function call(app: App, phase: string, seq: number): Promise<void> {
  const res = await request(`https://${HOST}${PATH}?phase=${phase}&app=${app.name}&seq=${seq}`, {
    dispatcher: app.agent,
    headers: { 'grantd-grant': 'ai' },
  });
  const text = await res.body.text();
  expect(res.statusCode, text).toBe(200);
  // The answer is this request's, and neither token reached the app.
  expect(JSON.parse(text)).toMatchObject({ phase, app: app.name, seq });
  const seen = `${JSON.stringify(res.headers)}\n${text}`;
  for (const token of Object.values(TOKENS)) expect(seen).not.toContain(token);
}

function occurrences(text: string, token: string): number {
  return text.split(token).length - 1;
}

/**
 * The phase's arrivals, after checking that each request arrived exactly once
 * with exactly one Authorization header, its own app's, and the other app's
 * token nowhere in it.
 */
function checkedArrivals(phase: string): Arrival[] {
  const mine = arrivals.filter((a) => a.phase === phase);
  const problems: string[] = [];
  for (const app of apps) {
    const other = apps.find((a) => a !== app) as App;
    const seqs = mine.filter((a) => a.app === app.name).map((a) => a.seq);
    expect(seqs.sort((x, y) => x - y)).toEqual([...Array(ROUNDS).keys()]);
    for (const a of mine.filter((arrival) => arrival.app === app.name)) {
      const where = `${phase} ${a.app} #${a.seq} on connection ${a.conn}`;
      if (a.authorization.length !== 1 || a.authorization[0] !== `Bearer ${app.token}`) {
        problems.push(`${where}: Authorization ${JSON.stringify(a.authorization)}`);
      }
      if (occurrences(a.everything, app.token) !== 1) problems.push(`${where}: own token count`);
      if (a.everything.includes(other.token)) problems.push(`${where}: carries ${other.name}'s`);
    }
  }
  expect(problems.slice(0, 5), `${problems.length} problems in the ${phase} phase`).toEqual([]);
  return mine;
}

/** Per connection, the apps of the requests it carried, in arrival order. */
function byConnection(list: Arrival[]): Map<number, string[]> {
  const map = new Map<number, string[]>();
  for (const a of list) map.set(a.conn, [...(map.get(a.conn) ?? []), a.app]);
  return map;
}

/** How many times consecutive requests on one connection belonged to different apps. */
function handovers(carried: string[]): number {
  return carried.filter((app, i) => i > 0 && app !== carried[i - 1]).length;
}

describe('the credentialed upstream pool', () => {
  it('carries alternating calls of two apps over one connection, each with its own token', async () => {
    for (let seq = 0; seq < ROUNDS; seq += 1) {
      for (const app of apps) await call(app, 'sequential', seq);
    }
    const list = checkedArrivals('sequential');
    const conns = byConnection(list);
    expect(conns.has(-1)).toBe(false);
    // Each call ends before the next starts, so the pool hands its one socket
    // back and forth: every call on it followed one of the other app.
    expect(conns.size).toBe(1);
    const [carried = []] = conns.values();
    expect(carried).toHaveLength(2 * ROUNDS);
    expect(handovers(carried)).toBe(2 * ROUNDS - 1);
  });

  it('keeps tokens apart in a concurrent burst queued on a few shared connections', async () => {
    const before = connections;
    const burst: Promise<void>[] = [];
    for (let seq = 0; seq < ROUNDS; seq += 1) {
      for (const app of apps) burst.push(call(app, 'burst', seq));
    }
    await Promise.all(burst);
    const list = checkedArrivals('burst');
    const conns = byConnection(list);
    expect(conns.has(-1)).toBe(false);
    // 120 requests in flight at once share the pool's few sockets.
    expect(conns.size).toBeLessThanOrEqual(MAX_SOCKETS);
    expect(connections - before).toBeLessThanOrEqual(MAX_SOCKETS);
    const mixed = [...conns.values()].filter((carried) => handovers(carried) > 0);
    expect(mixed.length).toBeGreaterThan(0);
  });

  it('saw far fewer upstream connections than requests overall', () => {
    expect(arrivals).toHaveLength(4 * ROUNDS);
    expect(connections).toBeLessThanOrEqual(MAX_SOCKETS + 2);
  });
});
