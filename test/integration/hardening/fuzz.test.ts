import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { spawnDaemon, type ChildDaemon } from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { basic, CaseGenerator, type FuzzCase } from './fuzz-cases.js';
import { Rng, rssBytes, startQuietUpstream, type QuietUpstream } from './support.js';

// A bounded fuzz run against a live `grantd start` child: a crash shows as the
// child exiting. The cases (fuzz-cases.ts) only ever make grantd connect to
// 127.0.0.1 or ::1.

const TOKEN = 'sk-fuzz-7c1d9e2f4a6b8c0d1e3f5a7b';
const OTHER_TOKEN = 'sk-fuzz-other-5a4b3c2d1e0f9a8b';
const SEED = process.env.GRANTD_FUZZ_SEED
  ? Number(process.env.GRANTD_FUZZ_SEED)
  : randomInt(2 ** 31 - 1);
const BUDGET_MS = Number(process.env.GRANTD_FUZZ_MS ?? 16_000);
const BATCH_MS = 2_000;
const CONCURRENCY = 12;
/** No fuzz connection lives longer than this: then the test hangs up. */
const CASE_DEADLINE_MS = 600;
const MAX_REPLY_BYTES = 65_536;
const RSS_GROWTH_LIMIT = 60 * 1024 * 1024;

let secure: QuietUpstream;
let plain: QuietUpstream;
let grantd: ChildDaemon;
let proxyPort: number;
let key: string;
let otherKey: string;
let caPem: string;
let closedPort: number;

beforeAll(async () => {
  const pki = await createTestPki();
  secure = await startQuietUpstream(await pki.issue(['api.openai.com']));
  plain = await startQuietUpstream();
  const probe = createNetServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  closedPort = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));

  grantd = await spawnDaemon({
    vault: { backend: 'file' },
    intercept: ['api.openai.com'],
    resolve: {
      'api.openai.com:443': `127.0.0.1:${secure.port}`,
      'api.openai.com:80': `127.0.0.1:${plain.port}`,
      'plain.fuzz.test:80': `127.0.0.1:${plain.port}`,
    },
    upstream: { ca_file: pki.caPath, timeout_ms: 2_000, connect_timeout_ms: 1_000 },
    limits: {
      header_timeout_ms: 1_000,
      tls_handshake_timeout_ms: 1_000,
      keep_alive_timeout_ms: 1_000,
      idle_timeout_ms: 3_000,
    },
  });
  proxyPort = Number(new URL(grantd.proxyUrl).port);
  caPem = readFileSync(join(grantd.home, 'ca', 'ca.pem'), 'utf8');
  const cli = cliFor(grantd.home, grantd.configPath);
  await cli.createApp('fuzz');
  await cli.createApp('other');
  key = await cli.mintKey('fuzz');
  otherKey = await cli.mintKey('other');
  await cli.addGrant('openai', 'fuzz', 'ai', TOKEN);
  await cli.addGrant('openai', 'other', 'theirs', OTHER_TOKEN);
});

afterAll(async () => {
  await grantd?.stop();
  await secure?.close();
  await plain?.close();
});

// ---------------------------------------------------------------------------
// Running one case: every wait ends at the case deadline at the latest.

/** Resolves true when `event` fires, false when the socket closed first or errored. */
function either(emitter: Socket | TLSSocket, event: string, closed: Promise<unknown>) {
  return Promise.race([
    once(emitter, event).then(
      () => true,
      () => false,
    ),
    closed.then(() => false),
  ]);
}

function collect(socket: Socket | TLSSocket, into: Buffer[]): void {
  let size = 0;
  socket.on('data', (chunk: Buffer) => {
    if (size >= MAX_REPLY_BYTES) return;
    size += chunk.length;
    into.push(chunk);
  });
}

async function writeInPieces(socket: Socket | TLSSocket, c: FuzzCase): Promise<void> {
  let from = 0;
  for (const at of [...c.splits, c.bytes.length]) {
    if (socket.destroyed) return;
    socket.write(c.bytes.subarray(from, at));
    from = at;
    // Separate writes reach grantd as separate reads: the parser resumes mid-token.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Opens a CONNECT tunnel to the intercepted host with a valid key; false if refused. */
async function openTunnel(socket: Socket, closed: Promise<unknown>): Promise<boolean> {
  socket.write(
    `CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n` +
      `Proxy-Authorization: ${basic('_', key)}\r\n\r\n`,
  );
  let head = '';
  const answered = await Promise.race([
    new Promise<boolean>((resolve) => {
      const onData = (chunk: Buffer) => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        resolve(true);
      };
      socket.on('data', onData);
    }),
    closed.then(() => false),
  ]);
  return answered && head.startsWith('HTTP/1.1 200');
}

interface Outcome {
  reply: Buffer;
  /** A tunnel with a valid key was refused, or its TLS handshake failed, before the deadline. */
  tunnelFailed: boolean;
}

async function runCase(c: FuzzCase): Promise<Outcome> {
  const chunks: Buffer[] = [];
  const socket = netConnect({ host: '127.0.0.1', port: proxyPort });
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  // Not events.once: it rejects on 'error', and a reset is an ordinary end here.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    socket.destroy();
  }, CASE_DEADLINE_MS);
  const failed = () => ({ reply: Buffer.alloc(0), tunnelFailed: !timedOut });
  try {
    if (!(await either(socket, 'connect', closed))) return failed();
    if (c.kind === 'absolute' || c.kind === 'connect' || c.kind === 'random') {
      collect(socket, chunks);
      await writeInPieces(socket, c);
    } else {
      if (!(await openTunnel(socket, closed))) return failed();
      if (c.kind === 'tunnel-cleartext') {
        collect(socket, chunks);
        await writeInPieces(socket, c);
      } else {
        const tls = tlsConnect({ socket, ca: [caPem], servername: 'api.openai.com' });
        tls.on('error', () => undefined);
        if (!(await either(tls, 'secureConnect', closed))) return failed();
        collect(tls, chunks);
        await writeInPieces(tls, c);
      }
    }
    await closed;
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
  return { reply: Buffer.concat(chunks), tunnelFailed: false };
}

// ---------------------------------------------------------------------------
// Invariants.

/** Fields for grantd alone: they never reach an upstream (any other `Proxy-Foo` may). */
const PROXY_FIELDS = new Set(['proxy-authorization', 'proxy-connection', 'proxy-authenticate']);
const EXPECTED_ERROR_LOGS = new Set(['upstream failed', 'tunnel failed', 'upgrade failed']);

function describeCase(c: FuzzCase): string {
  const shown = c.bytes.subarray(0, 160).toString('latin1');
  return `case ${c.n} (${c.kind}, seed ${SEED}): ${JSON.stringify(shown)}`;
}

function checkReply(
  c: FuzzCase,
  outcome: Outcome,
  findings: string[],
  statuses: Map<string, number>,
) {
  const text = outcome.reply.toString('latin1');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? (text === '' ? 'none' : 'other');
  statuses.set(`${c.kind} ${status}`, (statuses.get(`${c.kind} ${status}`) ?? 0) + 1);
  if (text.includes(TOKEN) || text.includes(OTHER_TOKEN)) {
    findings.push(`a token came back to the client: ${describeCase(c)}`);
  }
  if (/grantd-error: internal_error/i.test(text)) {
    findings.push(`grantd answered internal_error: ${describeCase(c)}`);
  }
  const raw = c.kind === 'absolute' || c.kind === 'connect' || c.kind === 'random';
  if (raw && text !== '' && !text.startsWith('HTTP/1.')) {
    findings.push(
      `a reply that is not HTTP (${JSON.stringify(text.slice(0, 40))}): ${describeCase(c)}`,
    );
  }
}

/** What reached the fake upstreams: hygiene on the credentialed side, no token in the clear. */
function checkUpstreams(findings: string[]): void {
  for (const seen of secure.seen) {
    const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    const leaked = names.filter((n) => n.startsWith('grantd-') || PROXY_FIELDS.has(n));
    if (leaked.length > 0) findings.push(`the upstream saw ${leaked.join(', ')} on ${seen.url}`);
    const carriesToken = seen.rawHeaders.some((v) => v.includes(TOKEN) || v.includes(OTHER_TOKEN));
    const authorizations = names.filter((n) => n === 'authorization').length;
    if (carriesToken && authorizations !== 1) {
      findings.push(`the upstream saw ${authorizations} Authorization fields beside the token`);
    }
  }
  for (const seen of plain.seen) {
    const text = `${seen.url} ${seen.rawHeaders.join(' ')}`;
    if (text.includes(TOKEN) || text.includes(OTHER_TOKEN)) {
      findings.push(`a token went to the upstream over cleartext on ${seen.url}`);
    }
  }
  secure.seen.length = 0;
  plain.seen.length = 0;
}

function checkLogs(from: number, findings: string[]): number {
  const lines = grantd.lines;
  for (const line of lines.slice(from)) {
    let parsed: { level?: number; msg?: string };
    try {
      parsed = JSON.parse(line) as { level?: number; msg?: string };
    } catch {
      findings.push(`the daemon wrote a line that is not JSON: ${line.slice(0, 120)}`);
      continue;
    }
    if ((parsed.level ?? 0) >= 50 && !EXPECTED_ERROR_LOGS.has(parsed.msg ?? '')) {
      findings.push(`the daemon logged an unexpected error: ${line.slice(0, 300)}`);
    }
  }
  return lines.length;
}

function expectAlive(when: string): void {
  const state = { code: grantd.child.exitCode, signal: grantd.child.signalCode };
  expect(state, `grantd died ${when} (seed ${SEED}):\n${grantd.stderr()}`).toEqual({
    code: null,
    signal: null,
  });
}

let healthChecks = 0;

/** A normal injected call, on a fresh connection: 200, with the token at the upstream. */
async function expectInjectionWorks(when: string): Promise<void> {
  healthChecks += 1;
  const path = `/health/${healthChecks}`;
  const agent = new ProxyAgent({
    uri: proxyWith(grantd.proxyUrl, '_', key),
    requestTls: { ca: caPem },
  });
  try {
    const res = await request(`https://api.openai.com${path}`, {
      dispatcher: agent,
      headers: { 'grantd-grant': 'ai' },
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await res.body.dump();
    expect(res.statusCode, `injected request ${when} (seed ${SEED})`).toBe(200);
  } finally {
    await agent.close();
  }
  const seen = secure.seen.find((s) => s.url === path);
  const authorization =
    seen?.rawHeaders[seen.rawHeaders.findIndex((h) => /^authorization$/i.test(h)) + 1];
  expect(authorization, `token at the upstream ${when} (seed ${SEED})`).toBe(`Bearer ${TOKEN}`);
}

describe('a fuzz run against a live daemon', () => {
  it(
    'keeps the daemon alive, serving and flat in memory through random and mutated input',
    { timeout: BUDGET_MS + 40_000 },
    async () => {
      console.log(
        `grantd fuzz: seed ${SEED} (replay with GRANTD_FUZZ_SEED=${SEED}), ${BUDGET_MS} ms`,
      );
      const rng = new Rng(SEED);
      const generator = new CaseGenerator({ key, otherKey, plainPort: plain.port, closedPort });
      const findings: string[] = [];
      const statuses = new Map<string, number>();
      const rssTrail: number[] = [];
      let cases = 0;
      let tunnelFailures = 0;
      let logCursor = 0;

      await expectInjectionWorks('before the run');
      const end = Date.now() + BUDGET_MS;
      for (let batch = 0; Date.now() < end; batch++) {
        const batchEnd = Math.min(end, Date.now() + BATCH_MS);
        const worker = async () => {
          while (Date.now() < batchEnd) {
            const c = generator.next(rng, cases++);
            const outcome = await runCase(c);
            if (outcome.tunnelFailed) tunnelFailures += 1;
            checkReply(c, outcome, findings, statuses);
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));

        expectAlive(`in batch ${batch}`);
        await expectInjectionWorks(`after batch ${batch}`);
        checkUpstreams(findings);
        logCursor = checkLogs(logCursor, findings);
        rssTrail.push(rssBytes(grantd.pid));
      }

      const mib = (bytes: number) => Math.round(bytes / 1_048_576);
      console.log(
        `grantd fuzz: ${cases} cases, ${tunnelFailures} connections or tunnels refused, RSS MiB ${rssTrail.map(mib).join(' ')}`,
      );
      console.log(
        `grantd fuzz replies: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
      );
      expect(findings, `seed ${SEED}`).toEqual([]);
      // The listener always accepts and a valid key always opens the tunnel.
      expect(tunnelFailures, `seed ${SEED}`).toBe(0);
      // The first batch warms caches, pools and the heap; after it, memory stays flat.
      const baseline = rssTrail[0] as number;
      const peak = Math.max(...rssTrail);
      expect(
        peak - baseline,
        `RSS trail ${rssTrail.map(mib).join(' ')} MiB (seed ${SEED})`,
      ).toBeLessThan(RSS_GROWTH_LIMIT);
      expect(cases).toBeGreaterThan(200);
    },
  );
});
