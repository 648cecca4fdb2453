import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { curl, python } from '../../helpers/clients.js';
import { startInProcess, tempDir, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

// Secrets that must reach the upstream and nowhere else.
const OPENAI_TOKEN = 'sk-openai-3f9c1d7e5b2a4c6e8f0a1b2c';
const ANTHROPIC_TOKEN = 'sk-ant-api03-9e8d7c6b5a4f3e2d1c0b';
const STRIPE_TOKEN = 'sk_test_51HxyZabcdefghijklmnopq';
const OTHER_TOKEN = 'sk-openai-other-app-0a9b8c7d6e5f';

let upstream: TestUpstream;
let plain: TestUpstream;
let grantd: InProcessDaemon;
let cli: ReturnType<typeof cliFor>;
let bundle: string;
let key: string;
let otherKey: string;
let otherGrantId: string;
const cliOutput: string[] = [];

beforeAll(async () => {
  const pki = await createTestPki();
  const hosts = ['api.openai.com', 'api.anthropic.com', 'api.stripe.com'];
  upstream = await startUpstream(await pki.issue(hosts));
  plain = await startUpstream();
  grantd = await startInProcess({
    resolve: {
      ...Object.fromEntries(hosts.map((host) => [`${host}:443`, `127.0.0.1:${upstream.port}`])),
      'api.openai.com:80': `127.0.0.1:${plain.port}`,
    },
    upstream: { ca_file: pki.caPath },
    routes: [{ app: 'billing', host: 'api.stripe.com', grant: 'stripe-live' }],
  });
  bundle = join(tempDir(), 'bundle.pem');
  writeFileSync(bundle, grantd.daemon.authority.certPem);

  cli = cliFor(grantd.config.home);
  await cli.createApp('billing');
  await cli.createApp('other');
  key = await cli.mintKey('billing');
  otherKey = await cli.mintKey('other');
  await cli.addGrant('openai', 'billing', 'ai', OPENAI_TOKEN);
  await cli.addGrant('anthropic', 'billing', 'claude', ANTHROPIC_TOKEN);
  await cli.addGrant('stripe', 'billing', 'stripe-live', STRIPE_TOKEN);
  otherGrantId = await cli.addGrant('openai', 'other', 'theirs', OTHER_TOKEN);
});

afterAll(async () => {
  await grantd?.close();
  await upstream?.close();
  await plain?.close();
});

/** curl through grantd with the billing app's key, printing status and headers. */
function curlAs(user: string, secret: string, url: string, ...extra: string[]) {
  return curl([
    '-i',
    '--proxy',
    proxyWith(grantd.proxyUrl, user, secret),
    '--cacert',
    bundle,
    ...extra,
    url,
  ]);
}

function lastSeen() {
  const seen = upstream.seen.at(-1);
  if (!seen) throw new Error('the upstream received nothing');
  return seen;
}

describe('a grant chosen by the Grantd-Grant header', () => {
  it('injects Authorization: Bearer for OpenAI and strips grantd and proxy headers', async () => {
    const before = upstream.seen.length;
    const result = await curlAs(
      '_',
      key,
      'https://api.openai.com/v1/models?limit=2',
      '-H',
      'Grantd-Grant: ai',
      '-H',
      'Authorization: Bearer app-made-this-up',
    );
    expect(result.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(result.stdout).toMatch(/grantd-request-id: req_/i);
    expect(upstream.seen.length).toBe(before + 1);
    const seen = lastSeen();
    expect(seen.url).toBe('/v1/models?limit=2');
    expect(seen.headers.authorization).toBe(`Bearer ${OPENAI_TOKEN}`);
    expect(seen.headers['grantd-grant']).toBeUndefined();
    expect(seen.headers['proxy-authorization']).toBeUndefined();
    expect(seen.rawHeaders.filter((h) => h.toLowerCase() === 'authorization')).toHaveLength(1);
  });

  it('injects x-api-key for Anthropic from Python requests, replacing the app value', async () => {
    const proxy = proxyWith(grantd.proxyUrl, '_', key);
    const result = await python(
      [
        'import requests, json',
        `r = requests.post("https://api.anthropic.com/v1/messages", json={"model": "m"}, headers={"Grantd-Grant": "claude", "x-api-key": "placeholder"}, proxies={"https": "${proxy}"}, verify="${bundle}", timeout=20)`,
        'print(json.dumps({"status": r.status_code, "rid": r.headers.get("Grantd-Request-Id")}))',
      ].join('\n'),
    );
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout) as { status: number; rid: string };
    expect(out.status).toBe(200);
    expect(out.rid).toMatch(/^req_/);
    const seen = lastSeen();
    expect(seen.headers['x-api-key']).toBe(ANTHROPIC_TOKEN);
    expect(seen.headers.authorization).toBeUndefined();
    expect(JSON.parse(seen.body.toString())).toEqual({ model: 'm' });
  });

  it('accepts other spellings of a provider host: case and a trailing dot', async () => {
    const result = await curlAs(
      '_',
      key,
      'https://API.OPENAI.COM./v1/models',
      '-H',
      'Grantd-Grant: ai',
    );
    expect(result.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(lastSeen().headers.authorization).toBe(`Bearer ${OPENAI_TOKEN}`);
  });
});

describe('a grant chosen without a header', () => {
  it('comes from the proxy user name', async () => {
    const result = await curlAs('ai', key, 'https://api.openai.com/v1/by-user');
    expect(result.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(lastSeen().url).toBe('/v1/by-user');
    expect(lastSeen().headers.authorization).toBe(`Bearer ${OPENAI_TOKEN}`);
  });

  it('comes from a route mapping the host to a grant', async () => {
    const result = await curlAs('_', key, 'https://api.stripe.com/v1/charges');
    expect(result.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(lastSeen().headers.authorization).toBe(`Bearer ${STRIPE_TOKEN}`);
  });

  it('does not apply a proxy-user grant to a host outside its provider', async () => {
    const result = await curlAs('ai', key, 'https://api.anthropic.com/v1/untagged');
    expect(result.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(lastSeen().url).toBe('/v1/untagged');
    expect(lastSeen().headers.authorization).toBeUndefined();
  });
});

describe('grantd run --app', () => {
  function runCurl(extra: string[], path: string) {
    const configPath = join(tempDir(), 'grantd.yaml');
    writeFileSync(configPath, `listen: 127.0.0.1:${grantd.daemon.proxyAddress.port}\n`);
    return cli.run([
      'run',
      '--config',
      configPath,
      '--app',
      'billing',
      ...extra,
      '--',
      'curl',
      '-sS',
      '--max-time',
      '20',
      `https://api.openai.com${path}`,
      ...(extra.length === 0 ? ['-H', 'Grantd-Grant: ai'] : []),
    ]);
  }

  it("puts the app's key in the proxy URL, so a program with no token gets one injected", async () => {
    const result = await runCurl([], '/v1/from-run');
    // stdout is the fake upstream's echo, which shows what it received.
    cliOutput.push(result.stderr);
    expect(JSON.parse(result.stdout)).toMatchObject({ url: '/v1/from-run' });
    expect(lastSeen().headers.authorization).toBe(`Bearer ${OPENAI_TOKEN}`);
  });

  it('names the grant as the proxy user with --grant, for programs that send no header', async () => {
    const result = await runCurl(['--grant', 'ai'], '/v1/from-run-grant');
    // stdout is the fake upstream's echo, which shows what it received.
    cliOutput.push(result.stderr);
    expect(lastSeen().url).toBe('/v1/from-run-grant');
    expect(lastSeen().headers.authorization).toBe(`Bearer ${OPENAI_TOKEN}`);
  });

  it('reuses one key per app across runs instead of minting a key each time', async () => {
    const keys = async () =>
      (await cli.run(['key', 'list', '--app', 'billing', '--json'])).stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { id: string }).id);
    const before = await keys();
    await runCurl([], '/v1/again');
    expect(await keys()).toEqual(before);
  });
});

describe('refusals', () => {
  async function expectRefused(
    run: () => Promise<{ stdout: string }>,
    status: number,
    code: string,
  ): Promise<string> {
    const before = upstream.seen.length + plain.seen.length;
    const result = await run();
    expect(result.stdout).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `, 'm'));
    expect(result.stdout).toMatch(new RegExp(`grantd-error: ${code}`, 'i'));
    expect(upstream.seen.length + plain.seen.length).toBe(before);
    const rid = /grantd-request-id: (req_\w+)/i.exec(result.stdout)?.[1];
    expect(rid).toBeDefined();
    return rid as string;
  }

  it('answers a CONNECT without a key with 407 and Proxy-Authenticate', async () => {
    const result = await curl([
      '-i',
      '--proxy',
      grantd.proxyUrl,
      '--cacert',
      bundle,
      '-H',
      'Grantd-Grant: ai',
      'https://api.openai.com/v1/models',
    ]);
    expect(result.stdout).toMatch(/^HTTP\/1\.1 407 /);
    expect(result.stdout).toMatch(/proxy-authenticate: Basic realm="grantd"/i);
    expect(result.stdout).toMatch(/grantd-error: proxy_auth_required/i);
  });

  it("refuses another app's grant with grant_not_found, by alias and by id", async () => {
    await expectRefused(
      () => curlAs('_', key, 'https://api.openai.com/v1/x', '-H', 'Grantd-Grant: theirs'),
      403,
      'grant_not_found',
    );
    await expectRefused(
      () => curlAs('_', key, 'https://api.openai.com/v1/x', '-H', `Grantd-Grant: ${otherGrantId}`),
      403,
      'grant_not_found',
    );
    await expectRefused(
      () => curlAs('_', key, 'https://api.openai.com/v1/x', '-H', 'Grantd-Grant: no-such-grant'),
      403,
      'grant_not_found',
    );
  });

  it('refuses a host outside the provider, whatever its spelling', async () => {
    await expectRefused(
      () => curlAs('_', key, 'https://api.anthropic.com/v1/x', '-H', 'Grantd-Grant: ai'),
      403,
      'host_not_allowed',
    );
    await expectRefused(
      () => curlAs('_', key, 'https://API.OPENAI.COM./v1/x', '-H', 'Grantd-Grant: claude'),
      403,
      'host_not_allowed',
    );
  });

  it('refuses to send a credential over plain http', async () => {
    await expectRefused(
      () => curlAs('_', key, 'http://api.openai.com/v1/x', '-H', 'Grantd-Grant: ai'),
      403,
      'cleartext_refused',
    );
  });

  it('refuses a malformed grant header with 400', async () => {
    await expectRefused(
      () => curlAs('_', key, 'https://api.openai.com/v1/x', '-H', 'Grantd-Grant: a b/c'),
      400,
      'bad_request',
    );
  });

  it('refuses a key revoked from the CLI while the daemon runs, on the next request', async () => {
    const doomed = await cli.mintKey('billing');
    const ok = await curlAs(
      '_',
      doomed,
      'https://api.openai.com/v1/before',
      '-H',
      'Grantd-Grant: ai',
    );
    expect(ok.stdout).toMatch(/^HTTP\/1\.1 200/);
    const keys = await cli.run(['key', 'list', '--json']);
    const id = keys.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string })
      .at(-1)?.id as string;
    await cli.run(['key', 'revoke', id]);
    const result = await curl([
      '-i',
      '--proxy',
      proxyWith(grantd.proxyUrl, '_', doomed),
      '--cacert',
      bundle,
      '-H',
      'Grantd-Grant: ai',
      'https://api.openai.com/v1/after',
    ]);
    expect(result.stdout).toMatch(/^HTTP\/1\.1 407 /);
    expect(upstream.seen.some((s) => s.url === '/v1/after')).toBe(false);
  });

  it('stops a grant revoked from the CLI on the next request of an open tunnel', async () => {
    const grantId = await cli.addGrant('openai', 'other', 'short-lived', 'sk-short-lived-7788');
    const { request, ProxyAgent } = await import('undici');
    const agent = new ProxyAgent({
      uri: proxyWith(grantd.proxyUrl, '_', otherKey),
      requestTls: { ca: grantd.daemon.authority.certPem },
    });
    try {
      const first = await request('https://api.openai.com/v1/one', {
        dispatcher: agent,
        headers: { 'grantd-grant': 'short-lived' },
      });
      expect(first.statusCode).toBe(200);
      await first.body.dump();
      await cli.run(['grant', 'revoke', grantId]);
      const second = await request('https://api.openai.com/v1/two', {
        dispatcher: agent,
        headers: { 'grantd-grant': 'short-lived' },
      });
      expect(second.statusCode).toBe(403);
      expect(second.headers['grantd-error']).toBe('grant_not_found');
      await second.body.dump();
    } finally {
      await agent.close();
    }
  });
});

describe('the audit log', () => {
  it('holds a row per grant use and per refusal, matching the requests field by field', async () => {
    grantd.daemon.audit.flush();
    const rows = await cli.auditJson(['--limit', '1000']);
    const byPath = (path: string) => rows.filter((r) => r.path === path);

    const injected = byPath('/v1/models').find(
      (r) => r.grant_id !== null && r.outcome === 'ok' && r.provider === 'openai',
    );
    expect(injected).toMatchObject({
      app: 'billing',
      provider: 'openai',
      method: 'GET',
      host: 'api.openai.com',
      path: '/v1/models',
      status: 200,
      outcome: 'ok',
      refreshed: false,
    });
    expect(injected?.key_id).toMatch(/^key_/);
    expect(injected?.request_id).toMatch(/^req_/);
    expect(typeof injected?.duration_ms).toBe('number');
    expect(injected?.bytes_out).toBeGreaterThan(0);

    const post = rows.find((r) => r.path === '/v1/messages');
    expect(post).toMatchObject({ method: 'POST', provider: 'anthropic', status: 200 });
    expect(post?.bytes_in).toBe(Buffer.byteLength('{"model": "m"}'));

    expect(
      byPath('/v1/x')
        .map((r) => r.outcome)
        .sort(),
    ).toEqual(
      [
        'bad_request',
        'cleartext_refused',
        'grant_not_found',
        'grant_not_found',
        'grant_not_found',
        'host_not_allowed',
        'host_not_allowed',
      ].sort(),
    );
    expect(rows.some((r) => r.method === 'CONNECT' && r.outcome === 'proxy_auth_required')).toBe(
      true,
    );
    // Untagged calls leave no row.
    expect(byPath('/v1/untagged')).toEqual([]);
  });

  it('filters by app, provider and status class', async () => {
    const refused = await cli.auditJson(['--status', '4xx', '--app', 'billing']);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => (r.status as number) >= 400 && r.app === 'billing')).toBe(true);
    const anthropic = await cli.auditJson(['--provider', 'anthropic']);
    expect(anthropic.map((r) => r.provider)).toEqual(anthropic.map(() => 'anthropic'));
  });
});

describe('secrets', () => {
  it('never appear in logs, CLI output, audit output, or the data folder outside the vault', async () => {
    grantd.daemon.audit.flush();
    const secrets = [OPENAI_TOKEN, ANTHROPIC_TOKEN, STRIPE_TOKEN, OTHER_TOKEN, key, otherKey];
    const audit = (await cli.run(['audit', '--json', '--limit', '1000'])).stdout;
    const tables = [
      (await cli.run(['audit'])).stdout,
      (await cli.run(['grant', 'list', '--json'])).stdout,
      (await cli.run(['key', 'list'])).stdout,
    ];
    const haystacks = [grantd.rawLogs.join('\n'), audit, ...tables, ...cliOutput];
    for (const secret of secrets) {
      for (const text of haystacks) expect(text).not.toContain(secret);
    }
    // Every file in the data folder, SQLite and its WAL included, byte for byte.
    for (const file of filesUnder(grantd.config.home)) {
      if (/vault\.(enc|key)$/.test(file)) continue;
      const bytes = readFileSync(file);
      for (const secret of secrets) expect(bytes.includes(Buffer.from(secret)), file).toBe(false);
    }
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
