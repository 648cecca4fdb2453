import { join } from 'node:path';

import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli, startInProcess, tempDir } from '../../helpers/daemon.js';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  startConnect,
  startFakeOAuth,
  USERINFO,
  writeFakeSetup,
  type FakeOAuth,
  type FakeSetup,
} from '../../helpers/fake-oauth.js';
import { proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';

// The fake stands in for Salesforce's login host and two instances; the
// catalog entry is used as shipped.
const LOGIN = 'login.salesforce.com';
const INSTANCE = 'na42.salesforce.com';
const OTHER_INSTANCE = 'na43.salesforce.com';

let fake: FakeOAuth;
let setup: FakeSetup;

beforeAll(async () => {
  fake = await startFakeOAuth(await createTestPki(), [LOGIN, INSTANCE, OTHER_INSTANCE]);
  fake.expiresIn = 3600;
  fake.extraTokenFields = { instance_url: `https://${INSTANCE}` };
  const at = `127.0.0.1:${fake.port}`;
  setup = writeFakeSetup(fake, join(tempDir(), 'home'), {
    resolve: { [`${LOGIN}:443`]: at, [`${INSTANCE}:443`]: at, [`${OTHER_INSTANCE}:443`]: at },
    providers: { salesforce: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET } },
  });
  const created = await runCli(['app', 'create', 'crm'], { env: setup.env });
  expect(created.code, created.stderr).toBe(0);
});

afterAll(async () => {
  await fake?.close();
});

describe('connecting the built-in Salesforce provider', () => {
  it('records the userinfo principal and the instance host, and injects there only', async () => {
    const run = startConnect(
      ['salesforce', '--app', 'crm', '--alias', 'sf', '--no-browser', '--timeout', '20'],
      setup.env,
    );
    const authorizeUrl = new URL(await run.url);
    expect(authorizeUrl.host).toBe(LOGIN);
    expect(authorizeUrl.pathname).toBe('/services/oauth2/authorize');
    expect(authorizeUrl.searchParams.get('scope')).toBe('api refresh_token');
    await (await fetch(await fake.approve(authorizeUrl.toString()))).text();
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`as ${USERINFO.preferred_username}`);
    const grantId = result.stdout.trim();

    const shown = await runCli(['grant', 'show', grantId, '--json'], { env: setup.env });
    expect(JSON.parse(shown.stdout)).toMatchObject({
      principal: USERINFO.preferred_username,
      params: { instance_url: `https://${INSTANCE}` },
    });
    expect(fake.userinfoCalls.at(-1)?.method).toBe('GET');

    const key = (await runCli(['key', 'mint', '--app', 'crm'], { env: setup.env })).stdout.trim();
    const grantd = await startInProcess(
      fake.config({
        home: setup.home,
        resolve: {
          [`${INSTANCE}:443`]: `127.0.0.1:${fake.port}`,
          [`${OTHER_INSTANCE}:443`]: `127.0.0.1:${fake.port}`,
        },
        providers: { salesforce: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET } },
        // The grant's own instance is intercepted through its extra host; the other is
        // listed so the refusal can be seen rather than a blind tunnel.
        intercept: [OTHER_INSTANCE],
      }),
    );
    const agent = new ProxyAgent({
      uri: proxyWith(grantd.proxyUrl, '_', key),
      requestTls: { ca: grantd.daemon.authority.certPem },
    });
    try {
      const call = (host: string) =>
        request(`https://${host}/services/data/v60.0`, {
          dispatcher: agent,
          headers: { 'grantd-grant': 'sf' },
        });
      const allowed = await call(INSTANCE);
      expect(allowed.statusCode).toBe(200);
      await allowed.body.dump();
      expect(fake.apiTokens.at(-1)).toBe(`Bearer ${fake.issuedAccessTokens.at(-1) as string}`);

      const before = fake.apiTokens.length;
      const refused = await call(OTHER_INSTANCE);
      expect(refused.statusCode).toBe(403);
      expect(refused.headers['grantd-error']).toBe('host_not_allowed');
      await refused.body.dump();
      expect(fake.apiTokens.length).toBe(before);
    } finally {
      await agent.close();
      await grantd.close();
    }
  });
});
