import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { startQuietUpstream, type QuietUpstream } from './support.js';

const TOKEN = 'sk-revocation-test-97531fdb86420eca';

let upstream: QuietUpstream;
let grantd: InProcessDaemon;
let cli: ReturnType<typeof cliFor>;

beforeAll(async () => {
  const pki = await createTestPki();
  upstream = await startQuietUpstream(await pki.issue(['api.openai.com']));
  grantd = await startInProcess({
    resolve: { 'api.openai.com:443': `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath },
  });
  cli = cliFor(grantd.config.home, grantd.configPath);
});

afterAll(async () => {
  await grantd?.close();
  await upstream?.close();
});

/** One keep-alive tunnel (undici keeps one connection per origin here) for a key. */
function tunnelFor(key: string): ProxyAgent {
  return new ProxyAgent({
    uri: proxyWith(grantd.proxyUrl, '_', key),
    requestTls: { ca: grantd.daemon.authority.certPem },
    connections: 1,
  });
}

async function call(agent: ProxyAgent, path: string) {
  const res = await request(`https://api.openai.com${path}`, {
    dispatcher: agent,
    headers: { 'grantd-grant': 'ai' },
  });
  await res.body.dump();
  return { status: res.statusCode, code: res.headers['grantd-error'] };
}

/** Open tunnels, counted by the daemon itself. */
async function openTunnels(): Promise<number> {
  const res = await request(`${grantd.adminUrl}/metrics`);
  const text = await res.body.text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('grantd_open_tunnels{kind="intercepted"}'));
  return Number(line?.split(' ')[1] ?? 0);
}

describe('a revocation while a tunnel is open', () => {
  it('refuses a revoked key on the next request inside that tunnel', async () => {
    await cli.createApp('keyed');
    const key = await cli.mintKey('keyed');
    await cli.addGrant('openai', 'keyed', 'ai', TOKEN);
    const agent = tunnelFor(key);
    try {
      expect(await call(agent, '/v1/before-key-revoke')).toEqual({ status: 200, code: undefined });
      const tunnels = await openTunnels();
      const [row] = (await cli.run(['key', 'list', '--app', 'keyed', '--json'])).stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: string });
      await cli.run(['key', 'revoke', (row as { id: string }).id]);

      const before = upstream.seen.length;
      expect(await call(agent, '/v1/after-key-revoke')).toEqual({
        status: 407,
        code: 'proxy_auth_required',
      });
      expect(upstream.seen.length).toBe(before);
      // The same tunnel carried both requests: none was opened for the second.
      expect(await openTunnels()).toBe(tunnels);
    } finally {
      await agent.close();
    }
  });

  it('refuses every grant of a deleted app on the next request inside that tunnel', async () => {
    await cli.createApp('doomed');
    const key = await cli.mintKey('doomed');
    await cli.addGrant('openai', 'doomed', 'ai', TOKEN);
    const agent = tunnelFor(key);
    try {
      expect(await call(agent, '/v1/before-app-delete')).toEqual({ status: 200, code: undefined });
      await cli.run(['app', 'delete', 'doomed']);
      const before = upstream.seen.length;
      const after = await call(agent, '/v1/after-app-delete');
      expect(after.status).toBe(407);
      expect(upstream.seen.length).toBe(before);
    } finally {
      await agent.close();
    }
  });
});
