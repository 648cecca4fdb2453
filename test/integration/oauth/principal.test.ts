import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildConfig } from '../../../src/config/load.js';
import { GrantdError } from '../../../src/errors.js';
import { readPrincipal } from '../../../src/oauth/grant-details.js';
import { TokenClient } from '../../../src/oauth/token-client.js';
import type { TokenSet } from '../../../src/oauth/token-response.js';
import { providerSpecSchema, type ProviderSpec } from '../../../src/providers/schema.js';
import { Upstream } from '../../../src/proxy/upstream.js';
import { tempDir } from '../../helpers/daemon.js';
import { API_HOST, AUTH_HOST, startFakeOAuth, type FakeOAuth } from '../../helpers/fake-oauth.js';
import { createTestPki } from '../../helpers/pki.js';

let fake: FakeOAuth;
let upstream: Upstream;

beforeAll(async () => {
  fake = await startFakeOAuth(await createTestPki());
  fake.expiresIn = 3600;
  upstream = new Upstream(buildConfig(fake.config({ home: join(tempDir(), 'home') }), { env: {} }));
});

afterAll(async () => {
  upstream?.close();
  await fake?.close();
});

function specWith(principal: Record<string, unknown>): ProviderSpec {
  return providerSpecSchema.parse({
    id: 'probe',
    name: 'Probe',
    auth: 'oauth2',
    hosts: [API_HOST],
    inject: { header: 'authorization', format: 'Bearer {token}' },
    oauth: {
      authorize_url: `https://${AUTH_HOST}/authorize`,
      token_url: `https://${AUTH_HOST}/token`,
      principal,
    },
  });
}

function tokensWith(accessToken: string): TokenSet {
  return {
    accessToken,
    refreshToken: undefined,
    expiresAt: undefined,
    tokenType: 'Bearer',
    scope: undefined,
    obtainedAt: Date.now(),
    response: { access_token: accessToken, team: { name: 'Acme\u001b[31m' } },
  };
}

describe('readPrincipal', () => {
  it('posts a GraphQL-style body to the userinfo URL with the new token injected', async () => {
    const spec = specWith({
      from: 'userinfo',
      url: `https://${AUTH_HOST}/userinfo`,
      method: 'POST',
      body: '{"query":"{ viewer { email } }"}',
      path: 'email',
    });
    const live = fake.mintTokens().access_token;
    expect(await readPrincipal(spec, tokensWith(live), {}, upstream, 5_000)).toBe(
      'ada@fake-oauth.test',
    );
    expect(fake.userinfoCalls.at(-1)).toEqual({
      method: 'POST',
      body: '{"query":"{ viewer { email } }"}',
    });
  });

  it('fails with the status, not the body, when the userinfo URL refuses the token', async () => {
    const spec = specWith({
      from: 'userinfo',
      url: `https://${AUTH_HOST}/userinfo`,
      path: 'email',
    });
    await expect(
      readPrincipal(spec, tokensWith('at_unknown'), {}, upstream, 5_000),
    ).rejects.toThrow('the userinfo URL answered HTTP 401');
  });

  it('reads a token-response path and strips control characters from it', async () => {
    const spec = specWith({ from: 'token_response', path: 'team.name' });
    expect(await readPrincipal(spec, tokensWith('x'), {}, upstream, 5_000)).toBe('Acme [31m');
  });
});

describe('token endpoint calls', () => {
  it('go through the egress guard: no refresh token goes to a private address', async () => {
    // A loopback literal outside resolve: is private to the guard. Were the guard
    // skipped, the call would only reach the fake here (and fail its certificate).
    const spec = providerSpecSchema.parse({
      id: 'private',
      name: 'Private',
      auth: 'oauth2',
      hosts: [API_HOST],
      inject: { header: 'authorization', format: 'Bearer {token}' },
      oauth: { authorize_url: '', token_url: `https://127.0.0.1:${fake.port}/token` },
    });
    const client = new TokenClient(upstream, { timeoutMs: 2_000 });
    const provider = { spec, builtin: false, client: { id: 'c', secret: 's' } };
    const failure = await client
      .refresh(provider, {}, 'rt_secret')
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(GrantdError);
    expect((failure as GrantdError).code).toBe('token_refresh_failed');
    expect(((failure as GrantdError).cause as Error).message).toContain('refused');
  });
});
