import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

let upstream: TestUpstream;
let grantd: InProcessDaemon;
let cli: ReturnType<typeof cliFor>;
let agent: ProxyAgent;

beforeAll(async () => {
  const pki = await createTestPki();
  upstream = await startUpstream(await pki.issue(['api.github.com', 'slack.com']));
  grantd = await startInProcess({
    resolve: {
      'api.github.com:443': `127.0.0.1:${upstream.port}`,
      'slack.com:443': `127.0.0.1:${upstream.port}`,
    },
    upstream: { ca_file: pki.caPath },
    routes: [{ app: 'agent', host: 'slack.com', grant: 'bot', paths: ['/api/chat.postMessage'] }],
  });
  cli = cliFor(grantd.config.home, grantd.configPath);
  await cli.createApp('agent');
  const key = await cli.mintKey('agent');
  await cli.run(
    [
      'grant',
      'add',
      'github',
      '--app',
      'agent',
      '--alias',
      'gh-read',
      '--methods',
      'GET,HEAD',
      '--token-stdin',
    ],
    'ghp_policyTestToken0123456789',
  );
  await cli.addGrant('slack', 'agent', 'bot', 'xoxb-policy-test-000111');
  agent = new ProxyAgent({
    uri: proxyWith(grantd.proxyUrl, '_', key),
    requestTls: { ca: grantd.daemon.authority.certPem },
  });
});

afterAll(async () => {
  await agent?.close();
  await grantd?.close();
  await upstream?.close();
});

async function call(method: string, url: string, grant?: string) {
  const res = await request(url, {
    method: method as 'GET',
    dispatcher: agent,
    headers: grant ? { 'grantd-grant': grant } : {},
    body: method === 'POST' ? '{}' : undefined,
  });
  const body = await res.body.text();
  return { status: res.statusCode, code: res.headers['grantd-error'], body };
}

describe('a read-only grant', () => {
  it('serves GET and refuses POST with 403 policy_denied, before the upstream', async () => {
    expect((await call('GET', 'https://api.github.com/repos/o/r', 'gh-read')).status).toBe(200);
    const before = upstream.seen.length;
    const refused = await call('POST', 'https://api.github.com/repos/o/r/issues', 'gh-read');
    expect(refused.status).toBe(403);
    expect(refused.code).toBe('policy_denied');
    expect(JSON.parse(refused.body).error.message).toContain('method POST');
    expect(upstream.seen.length).toBe(before);
  });

  it('shows its rules in grant show', async () => {
    const shown = await cli.run(['grant', 'show', 'gh-read', '--json']);
    expect(JSON.parse(shown.stdout).policy).toEqual({ methods: ['GET', 'HEAD'] });
  });

  it('refuses a bad method list at grant add', async () => {
    const result = await cli.try(
      ['grant', 'add', 'github', '--app', 'agent', '--methods', 'GET /x', '--token-stdin'],
      'ghp_x',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--methods');
  });
});

describe('a route with a path rule', () => {
  it('lets the route post messages and nothing else, however the path is spelled', async () => {
    expect((await call('POST', 'https://slack.com/api/chat.postMessage')).status).toBe(200);
    expect(upstream.seen.at(-1)?.headers.authorization).toBe('Bearer xoxb-policy-test-000111');
    const before = upstream.seen.length;
    for (const path of [
      '/api/users.list',
      '/api/chat.postMessage/../admin.users.list',
      '/api/chat.postMessage%2f..%2fadmin.users.list',
    ]) {
      const refused = await call('POST', `https://slack.com${path}`);
      expect(refused, path).toMatchObject({ status: 403, code: 'policy_denied' });
    }
    expect(upstream.seen.length).toBe(before);
  });

  it('writes an audit row for each refusal', async () => {
    grantd.daemon.audit.flush();
    const rows = await cli.auditJson(['--status', 'policy_denied']);
    expect(rows.length).toBe(4);
    expect(rows.every((r) => r.outcome === 'policy_denied' && r.status === 403)).toBe(true);
    expect(rows.map((r) => r.provider).sort()).toEqual(['github', 'slack', 'slack', 'slack']);
  });
});
