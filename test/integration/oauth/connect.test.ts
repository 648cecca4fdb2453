import { join } from 'node:path';

import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort, runCli, startInProcess, tempDir } from '../../helpers/daemon.js';
import {
  API_HOST,
  AUTH_HOST,
  CLIENT_ID,
  CLIENT_SECRET,
  startConnect,
  startFakeOAuth,
  writeFakeSetup,
  type FakeOAuth,
  type FakeSetup,
} from '../../helpers/fake-oauth.js';
import { proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';

let fake: FakeOAuth;
let setup: FakeSetup;

const cli = async (args: string[], input?: string) => {
  const result = await runCli(args, { env: setup.env, input });
  expect(result.code, `grantd ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result;
};

beforeAll(async () => {
  fake = await startFakeOAuth(await createTestPki());
  fake.expiresIn = 3600;
  setup = writeFakeSetup(fake, join(tempDir(), 'home'), {
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
  });
  await cli(['app', 'create', 'agent']);
});

afterAll(async () => {
  await fake?.close();
});

describe('grantd connect with a plain HTTP client as the browser', () => {
  it('prints only the grant id, and the grant injects through the daemon', async () => {
    const run = startConnect(
      ['fake', '--app', 'agent', '--alias', 'main', '--no-browser', '--timeout', '20'],
      setup.env,
    );
    const authorizeUrl = new URL(await run.url);
    expect(authorizeUrl.host).toBe('auth.fake-oauth.test');
    const query = authorizeUrl.searchParams;
    expect(query.get('response_type')).toBe('code');
    expect(query.get('client_id')).toBe('fake-client-id');
    expect(query.get('scope')).toBe('read write');
    expect(query.get('code_challenge_method')).toBe('S256');
    expect(query.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(query.get('state')).toMatch(/^[\w-]{32,}$/);
    expect(query.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);

    const callback = await fake.approve(authorizeUrl.toString());
    expect(callback.startsWith(query.get('redirect_uri') as string)).toBe(true);
    const page = await fetch(callback);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('Fake OAuth is connected');
    expect(html).toContain('return to the terminal');

    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^gr_[0-9A-Za-z]{16}\n$/);
    const issued = fake.issuedAccessTokens.at(-1) as string;
    for (const text of [html, result.stdout, result.stderr]) expect(text).not.toContain(issued);
    expect(fake.tokenCalls.at(-1)).toEqual({ grantType: 'authorization_code', clientAuth: 'post' });

    const listed = JSON.parse((await cli(['grant', 'list', '--json'])).stdout) as Record<
      string,
      unknown
    >;
    expect(listed).toMatchObject({
      id: result.stdout.trim(),
      alias: 'main',
      kind: 'oauth',
      status: 'active',
    });

    const key = (await cli(['key', 'mint', '--app', 'agent'])).stdout.trim();
    const grantd = await startInProcess(fake.config({ home: setup.home }));
    const agent = new ProxyAgent({
      uri: proxyWith(grantd.proxyUrl, '_', key),
      requestTls: { ca: grantd.daemon.authority.certPem },
    });
    try {
      const res = await request(`https://${API_HOST}/v1/me`, {
        dispatcher: agent,
        headers: { 'grantd-grant': 'main' },
      });
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toEqual({ ok: true, path: '/v1/me' });
      expect(fake.apiTokens.at(-1)).toBe(`Bearer ${issued}`);
      expect(grantd.rawLogs.join('\n')).not.toContain(issued);
    } finally {
      await agent.close();
      await grantd.close();
    }
  });
});

describe('grantd connect for a client-credentials provider', () => {
  it('fetches the app token without a browser and prints the grant id', async () => {
    const result = await runCli(['connect', 'machine', '--app', 'agent', '--alias', 'jobs'], {
      env: setup.env,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^gr_[0-9A-Za-z]{16}\n$/);
    expect(result.stderr).not.toMatch(/https:\/\//);
    expect(fake.tokenCalls.at(-1)).toEqual({ grantType: 'client_credentials', clientAuth: 'post' });
  });
});

// Each case runs its own connect process with its own loopback listener, so they run side by side.
describe.concurrent('grantd connect refusals', () => {
  const aliases = async () =>
    (await cli(['grant', 'list', '--json'])).stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { alias: string | null }).alias);

  it('shows an error page and stores nothing when the user denies access', async () => {
    const run = startConnect(
      ['fake', '--app', 'agent', '--alias', 'denied', '--no-browser', '--timeout', '20'],
      setup.env,
    );
    const page = await fetch(await fake.deny(await run.url));
    const html = await page.text();
    expect(page.status).toBe(400);
    expect(html).toContain('Access was denied');

    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/denied in the browser; nothing was stored/);
    expect(await aliases()).not.toContain('denied');
  });

  it('turns away a redirect with a wrong or missing state and keeps waiting for the right one', async () => {
    const run = startConnect(
      ['fake', '--app', 'agent', '--no-browser', '--timeout', '20'],
      setup.env,
    );
    const callback = new URL(await fake.approve(await run.url));

    const forged = new URL(callback);
    forged.searchParams.set('state', 'not-the-state');
    const wrong = await fetch(forged);
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('does not match');
    const stateless = new URL(callback);
    stateless.searchParams.delete('state');
    expect((await fetch(stateless)).status).toBe(400);

    const right = await fetch(callback);
    expect(right.status).toBe(200);
    await right.text();
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('Ignored a redirect with a wrong state');
    expect(result.stderr).toContain('Ignored a redirect with no state');
  });

  it('reports a provider error on the redirect', async () => {
    const run = startConnect(
      ['fake', '--app', 'agent', '--no-browser', '--timeout', '20'],
      setup.env,
    );
    const callback = new URL(await fake.approve(await run.url));
    callback.searchParams.delete('code');
    callback.searchParams.set('error', 'invalid_scope');
    callback.searchParams.set('error_description', 'scope <b>admin</b> is not allowed');
    const page = await fetch(callback);
    const html = await page.text();
    expect(page.status).toBe(400);
    expect(html).toContain('invalid_scope');
    expect(html).not.toContain('<b>');
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Fake OAuth answered invalid_scope');
  });

  it('shows an error page when the code cannot be exchanged', async () => {
    const run = startConnect(
      ['fake', '--app', 'agent', '--no-browser', '--timeout', '20'],
      setup.env,
    );
    const callback = new URL(await fake.approve(await run.url));
    callback.searchParams.set('code', 'code_that_was_never_issued');
    const page = await fetch(callback);
    expect(page.status).toBe(502);
    expect(await page.text()).toContain('Connecting failed');
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/token exchange failed: the provider answered invalid_grant/);
  });

  it('redirects to a fixed loopback port with --port, for providers that register one', async () => {
    const port = await freePort();
    const run = startConnect(
      ['fake', '--app', 'agent', '--no-browser', '--timeout', '1', '--port', String(port)],
      setup.env,
    );
    const url = new URL(await run.url);
    expect(url.searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${port}/callback`);
    expect((await run.done).code).toBe(1);
  });

  it('gives up after --timeout seconds with a clear message', async () => {
    const started = Date.now();
    const run = startConnect(
      ['fake', '--app', 'agent', '--no-browser', '--timeout', '1'],
      setup.env,
    );
    await run.url;
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('no answer from the browser within 1 s; nothing was stored');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('names the config keys to set when the provider has no client, before printing any URL', async () => {
    const result = await runCli(['connect', 'slack', '--app', 'agent', '--no-browser'], {
      env: setup.env,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('providers.slack.client_id');
    expect(result.stderr).toContain('providers.slack.client_secret');
    expect(result.stderr).not.toContain('https://slack.com/oauth');
    expect(result.stdout).toBe('');
  });

  it('points an API-key provider at grant add', async () => {
    const result = await runCli(['connect', 'openai', '--app', 'agent'], { env: setup.env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('grantd grant add openai --app agent --token-stdin');
  });

  it('refuses an alias that names another provider grant of the app', async () => {
    await cli(
      ['grant', 'add', 'openai', '--app', 'agent', '--alias', 'ai', '--token-stdin'],
      'sk-x',
    );
    const result = await runCli(['connect', 'fake', '--app', 'agent', '--alias', 'ai'], {
      env: setup.env,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('already has a openai grant with alias ai');
  });
});
