import { join } from 'node:path';
import { Writable } from 'node:stream';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { buildConfig, type LoadedConfig } from '../../../src/config/load.js';
import { GrantdError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log/logger.js';
import { OAuthTokenSource } from '../../../src/oauth/refresher.js';
import { TokenClient } from '../../../src/oauth/token-client.js';
import { ProviderRegistry, type Provider } from '../../../src/providers/registry.js';
import { Upstream } from '../../../src/proxy/upstream.js';
import type { Grant } from '../../../src/store/grants.js';
import { Store } from '../../../src/store/store.js';
import { Vault, type Credential } from '../../../src/vault/vault.js';
import { tempDir } from '../../helpers/daemon.js';
import {
  API_HOST,
  AUTH_HOST,
  CLIENT_ID,
  CLIENT_SECRET,
  startFakeOAuth,
  type FakeOAuth,
} from '../../helpers/fake-oauth.js';
import { createTestPki } from '../../helpers/pki.js';

let fake: FakeOAuth;
let config: LoadedConfig;
let store: Store;
let vault: Vault;
let upstream: Upstream;
let providers: ProviderRegistry;
let appId: string;
const logLines: string[] = [];

/** A clock the tests move, for expiry and cool-down without waiting. */
let clock = Date.now();
const now = () => clock;

beforeAll(async () => {
  fake = await startFakeOAuth(await createTestPki());
  fake.expiresIn = 3600;
  config = buildConfig(
    fake.config({
      home: join(tempDir(), 'home'),
      vault: { backend: 'file' },
      providers: {
        machine: {
          auth: 'oauth2_client_credentials',
          token_url: `https://${AUTH_HOST}/token`,
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          scopes: ['jobs'],
          hosts: [API_HOST],
        },
      },
    }),
    { env: {} },
  );
  const logger = createLogger({
    level: 'debug',
    format: 'json',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });
  store = Store.open(config.home);
  vault = await Vault.open(config, { logger });
  upstream = new Upstream(config);
  providers = new ProviderRegistry(config.providers);
  appId = store.apps.create('svc').id;
});

afterEach(() => {
  fake.refreshFailure = undefined;
  clock = Date.now();
});

afterAll(async () => {
  upstream?.close();
  store?.close();
  await fake?.close();
});

function source(
  options: { cooldownMs?: number; timeoutMs?: number; forceIntervalMs?: number } = {},
) {
  const logger = createLogger({
    level: 'debug',
    format: 'json',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });
  return new OAuthTokenSource({
    vault,
    store,
    client: new TokenClient(upstream, { timeoutMs: options.timeoutMs ?? 5_000, now }),
    logger,
    cooldownMs: options.cooldownMs ?? 5_000,
    forceIntervalMs: options.forceIntervalMs,
    now,
  });
}

const provider = (id = 'fake'): Provider => providers.get(id) as Provider;
const refreshCalls = () => fake.tokenCalls.filter((c) => c.grantType === 'refresh_token').length;

/** A grant holding a live token pair from the fake, expiring `expiresInMs` from the clock. */
async function seed(expiresInMs: number, kind: 'oauth' | 'static' = 'oauth'): Promise<Grant> {
  const minted = fake.mintTokens();
  const grant = store.grants.create({ appId, provider: 'fake', kind });
  const credential: Credential =
    kind === 'static'
      ? { kind: 'static', token: 'static-key' }
      : {
          kind: 'oauth',
          access_token: minted.access_token,
          refresh_token: minted.refresh_token,
          obtained_at: clock - 3_600_000,
          expires_at: clock + expiresInMs,
        };
  await vault.put(grant.id, credential, grant.secretVersion);
  return grant;
}

async function rejection(promise: Promise<unknown>): Promise<GrantdError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GrantdError) return error;
    throw error;
  }
  throw new Error('expected a GrantdError');
}

const current = (grant: Grant) => store.grants.byId(grant.id) as Grant;

describe('OAuthTokenSource', () => {
  it('serves a fresh token without calling the endpoint', async () => {
    const grant = await seed(3_600_000);
    const before = fake.tokenCalls.length;
    const fresh = await source().tokenFor(grant, provider());
    expect(fresh.refreshed).toBe(false);
    expect(fake.tokenCalls.length).toBe(before);
  });

  it('persists the rotated refresh token before answering', async () => {
    const grant = await seed(-1_000);
    const fresh = await source().tokenFor(grant, provider());
    expect(fresh).toEqual({ token: fake.issuedAccessTokens.at(-1), refreshed: true });
    const stored = await vault.get(grant.id, current(grant).secretVersion);
    expect(stored).toMatchObject({
      kind: 'oauth',
      access_token: fresh.token,
      refresh_token: fake.issuedRefreshTokens.at(-1),
    });
    expect(current(grant).secretVersion).toBe(grant.secretVersion + 1);
  });

  it('fails fast during the cool-down and calls the endpoint again after it', async () => {
    const tokens = source({ cooldownMs: 7_000 });
    const grant = await seed(-1_000);
    fake.refreshFailure = 'http500';
    const before = refreshCalls();

    expect((await rejection(tokens.tokenFor(grant, provider()))).code).toBe('token_refresh_failed');
    fake.refreshFailure = undefined;
    clock += 6_000;
    expect((await rejection(tokens.tokenFor(grant, provider()))).code).toBe('token_refresh_failed');
    expect(refreshCalls()).toBe(before + 1);

    clock += 2_000;
    const fresh = await tokens.tokenFor(current(grant), provider());
    expect(fresh.refreshed).toBe(true);
    expect(refreshCalls()).toBe(before + 2);
  });

  it('gives up on a token endpoint that hangs, within the call timeout', async () => {
    const grant = await seed(-1_000);
    fake.refreshFailure = 'hang';
    const started = Date.now();
    const error = await rejection(source({ timeoutMs: 300 }).tokenFor(grant, provider()));
    expect(error.code).toBe('token_refresh_failed');
    expect((error.cause as Error).message).toContain('timeout');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('keeps serving a token inside its refresh margin while the endpoint is down', async () => {
    const grant = await seed(60_000);
    const stored = await vault.get(grant.id, grant.secretVersion);
    fake.refreshFailure = 'http500';
    const fresh = await source().tokenFor(grant, provider());
    expect(fresh).toEqual({
      token: stored?.kind === 'oauth' ? stored.access_token : '',
      refreshed: false,
    });
  });

  it('marks the grant needs_reauth when the provider answers invalid_grant', async () => {
    const grant = await seed(-1_000);
    fake.refreshFailure = 'invalid_grant';
    expect((await rejection(source().tokenFor(grant, provider()))).code).toBe('grant_needs_reauth');
    expect(current(grant).status).toBe('needs_reauth');
  });

  it('marks an expired token without a refresh token needs_reauth, without a call', async () => {
    const grant = store.grants.create({ appId, provider: 'fake', kind: 'oauth' });
    await vault.put(
      grant.id,
      { kind: 'oauth', access_token: 'at_old', obtained_at: clock - 10_000, expires_at: clock - 1 },
      grant.secretVersion,
    );
    const before = fake.tokenCalls.length;
    expect((await rejection(source().tokenFor(grant, provider()))).code).toBe('grant_needs_reauth');
    expect(fake.tokenCalls.length).toBe(before);
    expect(current(grant).status).toBe('needs_reauth');
  });
});

describe('forceRefresh', () => {
  it('refreshes a rejected token, hands out the newer one for a stale rejection, and rate-limits', async () => {
    const tokens = source();
    const grant = await seed(3_600_000);
    const first = await tokens.tokenFor(grant, provider());
    const before = refreshCalls();

    const forced = await tokens.forceRefresh(grant, provider(), first.token);
    expect(forced?.refreshed).toBe(true);
    expect(forced?.token).not.toBe(first.token);
    expect(refreshCalls()).toBe(before + 1);

    // A second request that also saw the old token gets the new one, no call.
    expect(await tokens.forceRefresh(grant, provider(), first.token)).toEqual({
      token: forced?.token,
      refreshed: false,
    });
    // The new token refused at once as well: one forced refresh per interval only.
    expect(await tokens.forceRefresh(current(grant), provider(), forced!.token)).toBeUndefined();
    expect(refreshCalls()).toBe(before + 1);
  });

  it('returns undefined for a static credential or a token without a refresh token', async () => {
    const tokens = source();
    const staticGrant = await seed(0, 'static');
    expect(await tokens.forceRefresh(staticGrant, provider(), 'static-key')).toBeUndefined();

    const bare = store.grants.create({ appId, provider: 'fake', kind: 'oauth' });
    await vault.put(bare.id, { kind: 'oauth', access_token: 'at_bare', obtained_at: clock }, 1);
    expect(await tokens.forceRefresh(bare, provider(), 'at_bare')).toBeUndefined();
  });
});

describe('client-credentials grants', () => {
  it('fetches on demand, reuses the token until it expires, and needs no refresh token', async () => {
    const tokens = source();
    const grant = store.grants.create({
      appId,
      provider: 'machine',
      kind: 'oauth',
      scopes: 'jobs',
    });
    const calls = () => fake.tokenCalls.filter((c) => c.grantType === 'client_credentials').length;
    const before = calls();

    const [a, b] = await Promise.all([
      tokens.tokenFor(grant, provider('machine')),
      tokens.tokenFor(grant, provider('machine')),
    ]);
    expect(a).toEqual(b);
    expect(a.refreshed).toBe(true);
    expect(calls()).toBe(before + 1);
    expect(fake.tokenCalls.at(-1)?.clientAuth).toBe('post');

    expect((await tokens.tokenFor(current(grant), provider('machine'))).token).toBe(a.token);
    expect(calls()).toBe(before + 1);

    clock += 3_600_000;
    const later = await tokens.tokenFor(current(grant), provider('machine'));
    expect(later.token).not.toBe(a.token);
    expect(calls()).toBe(before + 2);
    const stored = await vault.get(grant.id, current(grant).secretVersion);
    expect(stored).toMatchObject({ kind: 'oauth', access_token: later.token });
    expect(stored && 'refresh_token' in stored).toBe(false);
  });
});

describe('logs', () => {
  it('never hold a token or the client secret', () => {
    const log = logLines.join('');
    expect(log).toContain('OAuth token refresh failed');
    for (const token of [...fake.issuedAccessTokens, ...fake.issuedRefreshTokens]) {
      expect(log).not.toContain(token);
    }
    expect(log).not.toContain(CLIENT_SECRET);
  });
});
