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
let releaseHeld: (() => void) | undefined;
let held: Promise<void>;

beforeAll(async () => {
  const pki = await createTestPki();
  let arrived: () => void = () => undefined;
  held = new Promise((resolve) => (arrived = resolve));
  upstream = await startUpstream(await pki.issue(['api.openai.com']), {
    streamRoutes: {
      // Holds its answer until the test lets it go, keeping one request in flight.
      '/hold': (_req, res) => {
        releaseHeld = () => res.end('{}');
        arrived();
      },
    },
  });
  grantd = await startInProcess({
    resolve: { 'api.openai.com:443': `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath },
    limits: { per_key: { concurrency: 1, rate_per_s: 1, burst: 3 } },
  });
  cli = cliFor(grantd.config.home, grantd.configPath);
  await cli.createApp('app');
  const key = await cli.mintKey('app');
  await cli.addGrant('openai', 'app', 'ai', 'sk-limits-test-2468');
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

function call(path: string) {
  return request(`https://api.openai.com${path}`, {
    dispatcher: agent,
    headers: { 'grantd-grant': 'ai' },
  });
}

describe('per-key limits', () => {
  it('answers 429 rate_limited with Retry-After when a key has more in flight than allowed', async () => {
    const first = call('/hold');
    await held;
    const second = await call('/v1/second');
    expect(second.statusCode).toBe(429);
    expect(second.headers['grantd-error']).toBe('rate_limited');
    expect(second.headers['retry-after']).toBe('1');
    await second.body.dump();
    releaseHeld?.();
    const done = await first;
    expect(done.statusCode).toBe(200);
    await done.body.dump();
  });

  it('answers 429 once the burst above the rate is spent, and audits it', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await call(`/v1/burst-${i}`);
      statuses.push(res.statusCode);
      await res.body.dump();
    }
    expect(statuses).toContain(429);
    expect(statuses.at(-1)).toBe(429);
    grantd.daemon.audit.flush();
    const rows = await cli.auditJson(['--status', 'rate_limited']);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.every((r) => r.status === 429 && r.app === 'app' && r.key_id !== null)).toBe(true);
  });
});
