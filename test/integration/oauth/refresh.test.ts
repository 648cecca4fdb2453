import { join } from 'node:path';

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
import {
  API_HOST,
  connectWithFake,
  startFakeOAuth,
  writeFakeSetup,
  type FakeOAuth,
  type FakeSetup,
} from '../../helpers/fake-oauth.js';
import { proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';

let fake: FakeOAuth;
let setup: FakeSetup;
let grantd: InProcessDaemon;
let key: string;
const agents: ProxyAgent[] = [];

const cli = async (args: string[]) => {
  const result = await runCli(args, { env: setup.env });
  expect(result.code, `grantd ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
};

beforeAll(async () => {
  fake = await startFakeOAuth(await createTestPki());
  // Refreshed tokens last an hour: one refresh per expire(), however slow the machine.
  fake.expiresIn = 3600;
  setup = writeFakeSetup(fake, join(tempDir(), 'home'));
  await cli(['app', 'create', 'svc']);
  key = (await cli(['key', 'mint', '--app', 'svc'])).trim();
  grantd = await startInProcess(fake.config({ home: setup.home }));
});

afterEach(() => {
  fake.refreshFailure = undefined;
  fake.refreshDelayMs = 0;
  fake.expiresIn = 3600;
});

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.close()));
  await grantd?.close();
  await fake?.close();
});

function agentFor(proxyUrl: string, ca: string): ProxyAgent {
  const agent = new ProxyAgent({ uri: proxyWith(proxyUrl, '_', key), requestTls: { ca } });
  agents.push(agent);
  return agent;
}

/** One call to the fake API through a daemon, tagged with `grant`. */
async function call(agent: ProxyAgent, grant: string, path = '/v1/data') {
  const res = await request(`https://${API_HOST}${path}`, {
    dispatcher: agent,
    headers: { 'grantd-grant': grant },
  });
  const body = await res.body.text();
  return { status: res.statusCode, error: res.headers['grantd-error'], body };
}

/**
 * A grant holding a live token pair that lasts an hour, written straight to
 * the daemon's store and vault (connect itself is tested in connect.test.ts).
 */
async function seedGrant(alias: string): Promise<string> {
  const { store, vault } = grantd.daemon;
  const app = store.apps.byName('svc');
  if (!app) throw new Error('no app svc');
  const minted = fake.mintTokens();
  const grant = store.grants.create({ appId: app.id, provider: 'fake', alias, kind: 'oauth' });
  const now = Date.now();
  await vault.put(
    grant.id,
    {
      kind: 'oauth',
      access_token: minted.access_token,
      refresh_token: minted.refresh_token,
      obtained_at: now,
      expires_at: now + 3_600_000,
    },
    grant.secretVersion,
  );
  return grant.id;
}

/**
 * Moves the stored token's expiry into the past, as time passing would: the
 * next call must refresh. Written as any vault write is, under a new version.
 */
async function expire(grantId: string): Promise<void> {
  const { store, vault } = grantd.daemon;
  const grant = store.grants.byId(grantId);
  if (!grant) throw new Error(`no grant ${grantId}`);
  const credential = await vault.get(grantId, grant.secretVersion);
  if (credential?.kind !== 'oauth') throw new Error('not an OAuth credential');
  const now = Date.now();
  const version = store.grants.bumpSecretVersion(grantId);
  await vault.put(
    grantId,
    { ...credential, obtained_at: now - 3_600_000, expires_at: now - 1_000 },
    version,
  );
}

const refreshCalls = () => fake.tokenCalls.filter((c) => c.grantType === 'refresh_token').length;

async function grantStatus(grantId: string): Promise<string> {
  const lines = (await cli(['grant', 'list', '--json'])).split('\n').filter((l) => l !== '');
  const grant = lines
    .map((l) => JSON.parse(l) as { id: string; status: string })
    .find((g) => g.id === grantId);
  return grant?.status ?? 'missing';
}

describe('refresh on expiry', () => {
  it('refreshes once for 100 concurrent requests on an expired token', async () => {
    const grantId = await seedGrant('burst');
    const agent = agentFor(grantd.proxyUrl, grantd.daemon.authority.certPem);
    await expire(grantId);
    fake.refreshDelayMs = 200;
    const before = refreshCalls();
    const seenBefore = fake.apiTokens.length;

    const results = await Promise.all(Array.from({ length: 100 }, () => call(agent, 'burst')));

    expect(results.map((r) => r.status)).toEqual(Array(100).fill(200));
    expect(refreshCalls()).toBe(before + 1);
    const newest = `Bearer ${fake.issuedAccessTokens.at(-1) as string}`;
    expect(new Set(fake.apiTokens.slice(seenBefore))).toEqual(new Set([newest]));
  });

  it('refreshes once when two daemons share the data folder', async () => {
    const grantId = await seedGrant('shared');
    let other: ChildDaemon | undefined;
    try {
      other = await spawnDaemon(fake.config({ home: setup.home }));
      const here = agentFor(grantd.proxyUrl, grantd.daemon.authority.certPem);
      const there = agentFor(other.proxyUrl, grantd.daemon.authority.certPem);
      await expire(grantId);
      fake.refreshDelayMs = 300;
      const before = refreshCalls();
      const seenBefore = fake.apiTokens.length;

      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => call(i % 2 === 0 ? here : there, 'shared')),
      );

      expect(results.map((r) => r.status)).toEqual(Array(40).fill(200));
      expect(refreshCalls()).toBe(before + 1);
      const newest = `Bearer ${fake.issuedAccessTokens.at(-1) as string}`;
      expect(new Set(fake.apiTokens.slice(seenBefore))).toEqual(new Set([newest]));
      expect(await grantStatus(grantId)).toBe('active');
    } finally {
      await other?.stop();
    }
  });

  it('rotates the refresh token five times in a row, across a daemon restart', async () => {
    const grantId = await seedGrant('rotating');
    let daemon = grantd;
    let agent = agentFor(daemon.proxyUrl, daemon.daemon.authority.certPem);
    for (let round = 1; round <= 5; round += 1) {
      const previous = fake.issuedRefreshTokens.at(-1);
      await expire(grantId);
      const result = await call(agent, 'rotating');
      expect(result.status, `round ${round}: ${result.body}`).toBe(200);
      // The fake kills a refresh token on use: success means grantd sent the newest one.
      expect(fake.tokenCalls.at(-1)).toMatchObject({
        grantType: 'refresh_token',
        refreshToken: previous,
      });
      if (round === 3) {
        await daemon.close();
        daemon = grantd = await startInProcess(fake.config({ home: setup.home }));
        agent = agentFor(daemon.proxyUrl, daemon.daemon.authority.certPem);
      }
    }
    expect(await grantStatus(grantId)).toBe('active');
  });
});

describe('refresh failures', () => {
  it('answers 401 grant_needs_reauth on invalid_grant, and connect with the alias repairs the grant', async () => {
    const grantId = await seedGrant('doomed');
    const agent = agentFor(grantd.proxyUrl, grantd.daemon.authority.certPem);
    await expire(grantId);
    fake.refreshFailure = 'invalid_grant';

    const refused = await call(agent, 'doomed');
    expect(refused.status).toBe(401);
    expect(refused.error).toBe('grant_needs_reauth');
    expect(await grantStatus(grantId)).toBe('needs_reauth');
    const calls = fake.tokenCalls.length;
    expect((await call(agent, 'doomed')).error).toBe('grant_needs_reauth');
    expect(fake.tokenCalls.length).toBe(calls);

    fake.refreshFailure = undefined;
    const repaired = await connectWithFake(fake, setup, ['--app', 'svc', '--alias', 'doomed']);
    expect(repaired).toBe(grantId);
    expect(await grantStatus(grantId)).toBe('active');
    const ok = await call(agent, 'doomed');
    expect(ok.status, ok.body).toBe(200);
    expect(fake.apiTokens.at(-1)).toBe(`Bearer ${fake.issuedAccessTokens.at(-1) as string}`);
  });

  it('answers 502 token_refresh_failed on a 500, and calls the endpoint no more during the cool-down', async () => {
    const grantId = await seedGrant('flaky');
    const agent = agentFor(grantd.proxyUrl, grantd.daemon.authority.certPem);
    await expire(grantId);
    fake.refreshFailure = 'http500';
    const before = refreshCalls();

    const first = await call(agent, 'flaky');
    expect(first.status).toBe(502);
    expect(first.error).toBe('token_refresh_failed');
    expect(first.body).not.toContain('upstream exploded');
    expect(refreshCalls()).toBe(before + 1);

    fake.refreshFailure = undefined;
    const again = await Promise.all([call(agent, 'flaky'), call(agent, 'flaky')]);
    expect(again.map((r) => r.error)).toEqual(['token_refresh_failed', 'token_refresh_failed']);
    expect(refreshCalls()).toBe(before + 1);
    expect(await grantStatus(grantId)).toBe('active');
  });

  it('retries once with a refreshed token when the upstream answers 401', async () => {
    const grantId = await seedGrant('revoked');
    const agent = agentFor(grantd.proxyUrl, grantd.daemon.authority.certPem);
    // A token the API no longer knows, though its expiry says it is good.
    const { store, vault } = grantd.daemon;
    const grant = store.grants.byId(grantId)!;
    const credential = await vault.get(grantId, grant.secretVersion);
    if (credential?.kind !== 'oauth') throw new Error('not an OAuth credential');
    await vault.put(
      grantId,
      { ...credential, access_token: 'at_revoked' },
      store.grants.bumpSecretVersion(grantId),
    );
    const before = refreshCalls();

    const result = await call(agent, 'revoked');

    expect(result.status, result.body).toBe(200);
    expect(refreshCalls()).toBe(before + 1);
    expect(fake.apiTokens.slice(-2)).toEqual([
      'Bearer at_revoked',
      `Bearer ${fake.issuedAccessTokens.at(-1) as string}`,
    ]);
  });

  it('never writes a token or secret to the log', () => {
    const log = grantd.rawLogs.join('\n');
    for (const token of [...fake.issuedAccessTokens, ...fake.issuedRefreshTokens]) {
      expect(log).not.toContain(token);
    }
    expect(log).not.toContain('fake-client-secret');
  });
});
