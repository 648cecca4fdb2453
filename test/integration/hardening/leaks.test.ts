import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rawConnection, readUntilClose } from '../../helpers/clients.js';
import { freePort, runCli, spawnDaemon, type ChildDaemon } from '../../helpers/daemon.js';
import {
  API_HOST,
  CLIENT_ID,
  CLIENT_SECRET,
  startConnect,
  startFakeOAuth,
  type FakeOAuth,
} from '../../helpers/fake-oauth.js';
import { proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { filesUnder, runCliToFile, startQuietUpstream, type QuietUpstream } from './support.js';

// A realistic run, then a search for every secret it involved in every place
// a secret must never be: the daemon's output (at trace level), CLI output,
// audit output, what clients received (no upstream here echoes anything, so a
// token in a response can only come from grantd), the metrics, and the data
// folder byte for byte, SQLite's WAL included. Only vault.enc may hold
// secrets, encrypted, and only key mint and `env --app` may print a key.

const OPENAI_TOKEN = 'sk-leak-openai-1a2b3c4d5e6f7a8b9c0d';
const ANTHROPIC_TOKEN = 'sk-ant-leak-0f1e2d3c4b5a69788796';
const OTHER_TOKEN = 'sk-leak-other-app-5566778899aabbcc';
const DEAD_TOKEN = 'dead-upstream-key-13579bdf02468ace';
const SECRET_ENV = 'GRANTD_LEAK_CLIENT_SECRET';

let fake: FakeOAuth;
let upstream: QuietUpstream;
let grantd: ChildDaemon;
let closedPort: number;
const keys: string[] = [];
/** Every CLI run: the command, what it printed, and whether it may print a key. */
const cliRuns: { args: string[]; stdout: string; stderr: string; printsKey: boolean }[] = [];
/** Every response a client received, head and body, as text. */
const responses: string[] = [];
let metricsText = '';
/** The data folder's files while the daemon ran, then after it stopped. */
const snapshots: Map<string, Buffer>[] = [];

function snapshot(home: string): Map<string, Buffer> {
  return new Map(filesUnder(home).map((path) => [path, readFileSync(path)]));
}

async function cli(args: string[], options: { input?: string; printsKey?: boolean } = {}) {
  const env = { GRANTD_HOME: grantd.home, GRANTD_CONFIG: grantd.configPath };
  const result = await runCli(args, { env, input: options.input });
  cliRuns.push({ args, ...result, printsKey: options.printsKey === true });
  expect(result.code, `grantd ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

function agentWith(key: string, user = '_'): ProxyAgent {
  return new ProxyAgent({
    uri: proxyWith(grantd.proxyUrl, user, key),
    requestTls: { ca: readFileSync(join(grantd.home, 'ca', 'ca.pem'), 'utf8') },
  });
}

async function call(
  agent: ProxyAgent,
  url: string,
  headers: Record<string, string> = {},
  method: 'GET' | 'POST' = 'GET',
): Promise<{ status: number; code: string | undefined }> {
  const res = await request(url, {
    dispatcher: agent,
    headers,
    method,
    body: method === 'POST' ? '{"q":1}' : undefined,
  });
  const body = await res.body.text();
  responses.push(`${res.statusCode} ${JSON.stringify(res.headers)}\n${body}`);
  const code = res.headers['grantd-error'];
  return { status: res.statusCode, code: typeof code === 'string' ? code : undefined };
}

/** Raw bytes to the proxy listener; what came back is kept with the other responses. */
async function raw(text: string): Promise<string> {
  const socket = await rawConnection(grantd.proxyUrl);
  socket.write(text);
  const reply = await readUntilClose(socket);
  responses.push(reply);
  return reply;
}

const basic = (user: string, secret: string) => Buffer.from(`${user}:${secret}`).toString('base64');

beforeAll(async () => {
  const pki = await createTestPki();
  fake = await startFakeOAuth(pki);
  fake.expiresIn = 3_600;
  upstream = await startQuietUpstream(await pki.issue(['api.openai.com', 'api.anthropic.com']));
  const probe = createNetServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));

  // The client secret reaches grantd the way users pass it: ${ENV} in the config.
  process.env[SECRET_ENV] = CLIENT_SECRET;
  const base = fake.config();
  const fakeProvider = { ...base.providers?.fake, client_secret: `\${${SECRET_ENV}}` };
  grantd = await spawnDaemon(
    fake.config({
      // A fixed port, so `grantd env` and `grantd run` read the daemon's address from the config.
      listen: `127.0.0.1:${await freePort()}`,
      vault: { backend: 'file' },
      log: { level: 'trace', format: 'json' },
      resolve: {
        'api.openai.com:443': `127.0.0.1:${upstream.port}`,
        'api.anthropic.com:443': `127.0.0.1:${upstream.port}`,
        'dead.leak.test:443': `127.0.0.1:${closedPort}`,
      },
      providers: {
        fake: fakeProvider,
        dead: { auth: 'api_key', hosts: ['dead.leak.test'] },
      },
    }),
  );
  await runTraffic();
}, 90_000);

afterAll(async () => {
  delete process.env[SECRET_ENV];
  await grantd?.stop();
  await upstream?.close();
  await fake?.close();
});

/** Apps, keys and grants of every kind, calls that succeed, are refused and fail, and the CLI. */
async function runTraffic(): Promise<void> {
  await cli(['app', 'create', 'leak']);
  await cli(['app', 'create', 'other']);
  const key = (await cli(['key', 'mint', '--app', 'leak'], { printsKey: true })).trim();
  const otherKey = (await cli(['key', 'mint', '--app', 'other'], { printsKey: true })).trim();
  const doomedKey = (await cli(['key', 'mint', '--app', 'leak'], { printsKey: true })).trim();
  keys.push(key, otherKey, doomedKey);

  const add = (provider: string, app: string, alias: string, token: string, extra: string[] = []) =>
    cli(['grant', 'add', provider, '--app', app, '--alias', alias, '--token-stdin', ...extra], {
      input: token,
    });
  await add('openai', 'leak', 'ai', OPENAI_TOKEN, ['--methods', 'GET']);
  await add('anthropic', 'leak', 'claude', ANTHROPIC_TOKEN);
  await add('openai', 'other', 'theirs', OTHER_TOKEN);
  await add('dead', 'leak', 'dead', DEAD_TOKEN);
  // expires_at in the past; expires_in would win over it, so it goes.
  const expired = () => ({
    ...fake.mintTokens(),
    expires_in: undefined,
    expires_at: Math.floor(Date.now() / 1000) - 60,
  });
  const importSet = (alias: string, set: Record<string, unknown>) =>
    cli(['grant', 'import', 'fake', '--app', 'leak', '--alias', alias], {
      input: JSON.stringify(set),
    });
  // Expired: the first call refreshes it, sending the client secret and rotating the refresh token.
  await importSet('acct', expired());
  // An access token the API does not know: a 401, a forced refresh and one retry.
  await importSet('stale', { ...fake.mintTokens(), access_token: 'at_unknown_leak_7d6c5b4a' });
  await importSet('revoked', expired());
  await importSet('flaky', expired());
  // The full OAuth flow, code exchange included, as `grantd connect --no-browser` runs it.
  const args = ['fake', '--no-browser', '--timeout', '20', '--app', 'leak', '--alias', 'connected'];
  const connect = startConnect(args, cliEnv());
  const callback = await fake.approve(await connect.url);
  await (await fetch(callback)).text();
  const connected = await connect.done;
  cliRuns.push({ args: ['connect', ...args], ...connected, printsKey: false });
  expect(connected.stdout).toMatch(/^gr_/);

  const agent = agentWith(key);
  const byUser = agentWith(key, 'claude');
  const other = agentWith(otherKey);
  const doomed = agentWith(doomedKey);
  try {
    await callEverything(agent, byUser, other, doomed, key);
  } finally {
    await Promise.all([agent, byUser, other, doomed].map((a) => a.close()));
  }
  await cliEverything();

  const metrics = await request(`${grantd.adminUrl}/metrics`);
  metricsText = await metrics.body.text();
  for (const path of ['/healthz', '/readyz']) {
    const res = await request(`${grantd.adminUrl}${path}`);
    responses.push(await res.body.text());
  }

  snapshots.push(snapshot(grantd.home));
  grantd.child.kill('SIGTERM');
  expect(await grantd.exited).toEqual({ code: 0, signal: null });
  snapshots.push(snapshot(grantd.home));
}

function cliEnv(): NodeJS.ProcessEnv {
  return { GRANTD_HOME: grantd.home, GRANTD_CONFIG: grantd.configPath };
}

async function callEverything(
  agent: ProxyAgent,
  byUser: ProxyAgent,
  other: ProxyAgent,
  doomed: ProxyAgent,
  key: string,
): Promise<void> {
  const expectCall = async (
    result: Promise<{ status: number; code: string | undefined }>,
    status: number,
    code?: string,
  ) => expect(await result).toEqual({ status, code });

  // Served, with the credential injected.
  await expectCall(
    call(agent, 'https://api.openai.com/v1/models?key=x', { 'grantd-grant': 'ai' }),
    200,
  );
  await expectCall(
    call(agent, 'https://api.anthropic.com/v1/messages', { 'grantd-grant': 'claude' }, 'POST'),
    200,
  );
  await expectCall(call(byUser, 'https://api.anthropic.com/v1/by-user'), 200);
  await expectCall(
    call(agent, `https://${API_HOST}/v1/refreshed`, { 'grantd-grant': 'acct' }),
    200,
  );
  await expectCall(call(agent, `https://${API_HOST}/v1/retried`, { 'grantd-grant': 'stale' }), 200);
  await expectCall(
    call(agent, `https://${API_HOST}/v1/connected`, { 'grantd-grant': 'connected' }),
    200,
  );
  await expectCall(call(doomed, 'https://api.openai.com/v1/before', { 'grantd-grant': 'ai' }), 200);
  const absolute = await raw(
    `GET https://api.openai.com/v1/absolute HTTP/1.1\r\nHost: api.openai.com\r\n` +
      `Proxy-Authorization: Basic ${basic('_', key)}\r\nGrantd-Grant: ai\r\nConnection: close\r\n\r\n`,
  );
  expect(absolute).toMatch(/^HTTP\/1\.1 200 /);

  // Refused by grantd.
  await expectCall(
    call(agent, 'https://api.openai.com/v1/x', { 'grantd-grant': 'theirs' }),
    403,
    'grant_not_found',
  );
  await expectCall(
    call(agent, 'https://api.anthropic.com/v1/x', { 'grantd-grant': 'ai' }),
    403,
    'host_not_allowed',
  );
  await expectCall(
    call(agent, 'https://api.openai.com/v1/x', { 'grantd-grant': 'ai' }, 'POST'),
    403,
    'policy_denied',
  );
  await expectCall(
    call(agent, 'https://api.openai.com/v1/x', { 'grantd-grant': 'a b/c' }),
    400,
    'bad_request',
  );
  await expectCall(
    call(other, 'https://api.openai.com/v1/x', { 'grantd-grant': 'ai' }),
    403,
    'grant_not_found',
  );
  const cleartext = await raw(
    `GET http://api.openai.com/v1/plain HTTP/1.1\r\nHost: api.openai.com\r\n` +
      `Proxy-Authorization: Basic ${basic('_', key)}\r\nGrantd-Grant: ai\r\nConnection: close\r\n\r\n`,
  );
  expect(cleartext).toMatch(/grantd-error: cleartext_refused/i);
  const keyless = await raw(
    `CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n`,
  );
  expect(keyless).toMatch(/^HTTP\/1\.1 407 /);
  const wrongKey = await raw(
    `CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n` +
      `Proxy-Authorization: Basic ${basic('_', `${key.slice(0, -4)}XXXX`)}\r\n\r\n`,
  );
  expect(wrongKey).toMatch(/^HTTP\/1\.1 407 /);

  // Failing: an unreachable upstream and a token endpoint that fails or refuses.
  await expectCall(
    call(agent, 'https://dead.leak.test/v1/x', { 'grantd-grant': 'dead' }),
    502,
    'upstream_unreachable',
  );
  fake.refreshFailure = 'http500';
  await expectCall(
    call(agent, `https://${API_HOST}/v1/x`, { 'grantd-grant': 'flaky' }),
    502,
    'token_refresh_failed',
  );
  fake.refreshFailure = 'invalid_grant';
  await expectCall(
    call(agent, `https://${API_HOST}/v1/x`, { 'grantd-grant': 'revoked' }),
    401,
    'grant_needs_reauth',
  );
  fake.refreshFailure = undefined;

  // A key revoked from the CLI, on the connection it already had open.
  const list = await cli(['key', 'list', '--app', 'leak', '--json']);
  const doomedId = list
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { id: string })
    .at(-1)?.id as string;
  await cli(['key', 'revoke', doomedId]);
  await expectCall(
    call(doomed, 'https://api.openai.com/v1/after', { 'grantd-grant': 'ai' }),
    407,
    'proxy_auth_required',
  );
}

async function cliEverything(): Promise<void> {
  await cli(['app', 'list']);
  await cli(['app', 'list', '--json']);
  await cli(['key', 'list']);
  await cli(['key', 'list', '--json']);
  await cli(['grant', 'list']);
  const grants = await cli(['grant', 'list', '--json']);
  for (const line of grants.trim().split('\n')) {
    const { id } = JSON.parse(line) as { id: string };
    await cli(['grant', 'show', id]);
  }
  await cli(['provider', 'list']);
  await cli(['provider', 'show', 'fake']);
  await cli(['audit']);
  await cli(['audit', '--json', '--limit', '1000']);
  await cli(['audit', '--status', '4xx']);
  await cli(['ca', 'path']);
  const doctor = await runCli(['doctor', '--json'], { env: cliEnv() });
  cliRuns.push({ args: ['doctor', '--json'], ...doctor, printsKey: false });
  const envOut = await cli(['env', '--app', 'leak'], { printsKey: true });
  const cliKey = /gk_[0-9A-Za-z]+/.exec(envOut)?.[0];
  expect(cliKey).toBeDefined();
  keys.push(cliKey as string);
  // The program's own output: the upstream's fixed answer, no key.
  const run = await cli([
    'run',
    '--app',
    'leak',
    '--',
    'curl',
    '-sS',
    '--max-time',
    '20',
    '-H',
    'Grantd-Grant: ai',
    'https://api.openai.com/v1/from-run',
  ]);
  expect(run).toBe('{"ok":true}');
  const revoked = JSON.parse(grants.trim().split('\n')[0] as string) as { id: string };
  await cli(['grant', 'revoke', revoked.id]);
  // And into a file, as a script keeping the whole log would.
  const all = await runCliToFile(['audit', '--json', '--limit', '100000'], cliEnv());
  cliRuns.push({ args: ['audit', '--json', '(file)'], ...all, printsKey: false });
}

interface Secret {
  name: string;
  value: string;
}

/** Every secret of the run, and the encodings one might travel in. */
function secrets(): Secret[] {
  const list: Secret[] = [
    { name: 'OpenAI token', value: OPENAI_TOKEN },
    { name: 'Anthropic token', value: ANTHROPIC_TOKEN },
    { name: "another app's token", value: OTHER_TOKEN },
    { name: 'dead upstream token', value: DEAD_TOKEN },
    { name: 'unknown access token', value: 'at_unknown_leak_7d6c5b4a' },
    { name: 'client secret', value: CLIENT_SECRET },
    { name: 'client credentials (basic)', value: basic(CLIENT_ID, CLIENT_SECRET) },
    ...fake.issuedAccessTokens.map((value, i) => ({ name: `access token ${i}`, value })),
    ...fake.issuedRefreshTokens.map((value, i) => ({ name: `refresh token ${i}`, value })),
  ];
  return list;
}

function appKeys(): Secret[] {
  return keys.flatMap((key, i) => [
    { name: `app key ${i}`, value: key },
    { name: `app key ${i} (proxy basic)`, value: basic('_', key) },
  ]);
}

function found(haystack: string | Buffer, list: Secret[]): string[] {
  const bytes = typeof haystack === 'string' ? Buffer.from(haystack) : haystack;
  return list.filter((s) => bytes.includes(Buffer.from(s.value))).map((s) => s.name);
}

describe('a realistic run', () => {
  it('involved every kind of secret: refreshed, rotated and exchanged tokens', () => {
    expect(fake.tokenCalls.map((c) => c.grantType).sort()).toEqual([
      'authorization_code',
      'refresh_token',
      'refresh_token',
      'refresh_token',
      'refresh_token',
    ]);
    expect(fake.issuedRefreshTokens.length).toBeGreaterThanOrEqual(7);
    expect(keys).toHaveLength(4);
    // The tokens did travel, where they belong.
    const sent = upstream.seen.flatMap((r) => r.rawHeaders);
    expect(sent).toContain(`Bearer ${OPENAI_TOKEN}`);
    expect(sent).toContain(ANTHROPIC_TOKEN);
  });
});

describe('secrets never appear', () => {
  it("in the daemon's stdout or stderr, at log level trace", () => {
    const levels = grantd.lines.map((line) => (JSON.parse(line) as { level: number }).level);
    // Debug lines (certificates, tunnels, retries) are in the scan too.
    expect(levels.filter((level) => level <= 20).length).toBeGreaterThan(5);
    expect(levels.length).toBeGreaterThan(30);
    const output = `${grantd.lines.join('\n')}\n${grantd.stderr()}`;
    expect(found(output, [...secrets(), ...appKeys()])).toEqual([]);
  });

  it('in CLI output, except the key that key mint and env --app print', () => {
    for (const run of cliRuns) {
      const what = `grantd ${run.args.join(' ')}`;
      expect(found(run.stderr, [...secrets(), ...appKeys()]), `${what} stderr`).toEqual([]);
      const forbidden = run.printsKey ? secrets() : [...secrets(), ...appKeys()];
      expect(found(run.stdout, forbidden), `${what} stdout`).toEqual([]);
      // Where a key belongs, the scan finds it: the search itself works.
      if (run.printsKey) expect(found(run.stdout, appKeys()), what).not.toEqual([]);
    }
  });

  it('in audit output', () => {
    const audit = cliRuns.filter((run) => run.args[0] === 'audit');
    expect(audit.map((run) => run.stdout).join('').length).toBeGreaterThan(1_000);
    for (const run of audit) expect(found(run.stdout, [...secrets(), ...appKeys()])).toEqual([]);
  });

  it('in anything a client received, error bodies included', () => {
    expect(responses.some((r) => r.includes('"error"'))).toBe(true);
    for (const response of responses) {
      expect(found(response, [...secrets(), ...appKeys()]), response.slice(0, 200)).toEqual([]);
    }
  });

  it('in the metrics', () => {
    expect(metricsText).toMatch(/grantd_requests_total/);
    expect(found(metricsText, [...secrets(), ...appKeys()])).toEqual([]);
  });

  it('in any file of the data folder but vault.key, in plain text, the SQLite WAL included', () => {
    const [running, stopped] = snapshots as [Map<string, Buffer>, Map<string, Buffer>];
    expect([...running.keys()].some((path) => path.endsWith('grantd.db-wal'))).toBe(true);
    for (const files of [running, stopped]) {
      for (const [path, bytes] of files) {
        // vault.enc holds them encrypted: not one in plain text there either.
        if (/vault\.key$/.test(path)) continue;
        expect(found(bytes, [...secrets(), ...appKeys()]), path).toEqual([]);
      }
    }
  });
});

describe('the metrics of the run', () => {
  // The run refreshed four times: acct and stale succeed, flaky meets a 500,
  // revoked meets invalid_grant.
  it('count the OAuth refreshes, by result', () => {
    const series = (result: string) =>
      new RegExp(`^grantd_token_refreshes_total\\{[^}]*result="${result}"[^}]*\\} [1-9]`, 'm');
    expect(metricsText).toMatch(series('ok'));
    expect(metricsText).toMatch(series('failed'));
    expect(metricsText).toMatch(series('needs_reauth'));
  });
});
