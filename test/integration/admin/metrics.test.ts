import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

const TOKEN = 'sk-metrics-test-8f7e6d5c4b3a';

let upstream: TestUpstream;
let grantd: InProcessDaemon;
let agent: ProxyAgent;
let key: string;

beforeAll(async () => {
  const pki = await createTestPki();
  upstream = await startUpstream(await pki.issue(['api.openai.com', 'api.anthropic.com']));
  grantd = await startInProcess({
    resolve: {
      'api.openai.com:443': `127.0.0.1:${upstream.port}`,
      'api.anthropic.com:443': `127.0.0.1:${upstream.port}`,
    },
    upstream: { ca_file: pki.caPath },
    intercept: ['api.anthropic.com'],
  });
  const cli = cliFor(grantd.config.home, grantd.configPath);
  await cli.createApp('app');
  key = await cli.mintKey('app');
  await cli.addGrant('openai', 'app', 'ai', TOKEN);
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

async function call(url: string, grant: string) {
  const res = await request(url, { dispatcher: agent, headers: { 'grantd-grant': grant } });
  await res.body.dump();
  return res.statusCode;
}

async function scrape(): Promise<string> {
  const res = await request(`${grantd.adminUrl}/metrics`);
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return res.body.text();
}

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  it('counts requests by provider, outcome and status class as traffic flows', async () => {
    const ok = 'grantd_requests_total{provider="openai",outcome="ok",status_class="2xx"}';
    const refused =
      'grantd_requests_total{provider="openai",outcome="host_not_allowed",status_class="4xx"}';
    const before = await scrape();

    expect(await call('https://api.openai.com/v1/a', 'ai')).toBe(200);
    expect(await call('https://api.openai.com/v1/b', 'ai')).toBe(200);
    expect(await call('https://api.anthropic.com/v1/c', 'ai')).toBe(403);
    grantd.daemon.audit.flush();

    const after = await scrape();
    expect(value(after, ok) - value(before, ok)).toBe(2);
    expect(value(after, refused) - value(before, refused)).toBe(1);
    expect(value(after, 'grantd_audit_rows_written_total')).toBeGreaterThanOrEqual(3);
    expect(value(after, 'grantd_leaf_certificates_minted_total')).toBeGreaterThanOrEqual(2);
    expect(value(after, 'grantd_open_tunnels{kind="intercepted"}')).toBeGreaterThanOrEqual(1);
    expect(after).toMatch(
      /^grantd_request_duration_seconds_bucket\{le="0\.005",provider="openai"\}/m,
    );
    expect(after).toMatch(/^grantd_process_resident_memory_bytes /m);
  });

  it('shows no secret and no label value from outside grantd', async () => {
    const text = await scrape();
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(key);
    expect(text).not.toContain('api.openai.com');
    expect(text).not.toMatch(/gr_[0-9A-Za-z]{16}/);
    expect(text).not.toContain('/v1/');
  });
});
