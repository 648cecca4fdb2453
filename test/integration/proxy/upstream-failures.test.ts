import { createServer as createNetServer, type AddressInfo } from 'node:net';

import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rawConnection, readUntilClose } from '../../helpers/clients.js';
import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

let trusted: TestUpstream;
let untrusted: TestUpstream;
let silent: ReturnType<typeof createNetServer>;
let closedPort: number;
let grantd: InProcessDaemon;
let agent: ProxyAgent;

beforeAll(async () => {
  const pki = await createTestPki();
  const stranger = await createTestPki('a CA nobody trusts');
  trusted = await startUpstream(await pki.issue(['ok.grantd.test', 'wrong-name.grantd.test']));
  untrusted = await startUpstream(await stranger.issue(['untrusted.grantd.test']));

  // A port that accepts TCP and then says nothing.
  silent = createNetServer(() => undefined).listen(0, '127.0.0.1');
  await new Promise((resolve) => silent.once('listening', resolve));

  // A port nothing listens on: bind one, note it, close it.
  const probe = createNetServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));

  const hosts = ['ok', 'untrusted', 'mismatch', 'closed', 'silent'].map((h) => `${h}.grantd.test`);
  grantd = await startInProcess({
    // Proxy mechanics only: app keys are covered in test/integration/grants.
    auth: { required: false },
    intercept: hosts,
    resolve: {
      'ok.grantd.test:443': `127.0.0.1:${trusted.port}`,
      'untrusted.grantd.test:443': `127.0.0.1:${untrusted.port}`,
      // The certificate there names other hosts.
      'mismatch.grantd.test:443': `127.0.0.1:${trusted.port}`,
      'closed.grantd.test:443': `127.0.0.1:${closedPort}`,
      'silent.grantd.test:443': `127.0.0.1:${(silent.address() as AddressInfo).port}`,
      'closed-tunnel.grantd.test:443': `127.0.0.1:${closedPort}`,
    },
    upstream: { ca_file: pki.caPath, timeout_ms: 300 },
  });
  agent = new ProxyAgent({
    uri: grantd.proxyUrl,
    requestTls: { ca: [grantd.daemon.authority.certPem] },
  });
});

afterAll(async () => {
  await agent?.close();
  await grantd?.close();
  await trusted?.close();
  await untrusted?.close();
  silent?.close();
});

async function get(host: string) {
  const res = await request(`https://${host}/`, { dispatcher: agent });
  const body = (await res.body.json()) as {
    error: { code: string; message: string; request_id: string };
  };
  return { status: res.statusCode, headers: res.headers, body };
}

describe('when the upstream fails', () => {
  it.each([
    ['untrusted.grantd.test', 502, 'upstream_tls_error', 'its certificate is from an unknown CA'],
    ['mismatch.grantd.test', 502, 'upstream_tls_error', 'its certificate names another host'],
    ['closed.grantd.test', 502, 'upstream_unreachable', 'nothing listens on the port'],
    ['silent.grantd.test', 504, 'upstream_timeout', 'it accepts but never answers'],
  ])('%s answers %i %s (%s)', async (host, status, code) => {
    const res = await get(host);
    expect(res.status).toBe(status);
    expect(res.headers['grantd-error']).toBe(code);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.request_id).toBe(res.headers['grantd-request-id']);
    // The client gets the fixed message, never Node's internal error text.
    expect(res.body.error.message).not.toMatch(/ECONN|certificate verify|self.signed|at /i);
    const logged = grantd.logs.find(
      (l) => l.reqId === res.body.error.request_id && l.msg === 'upstream failed',
    );
    expect(logged).toMatchObject({ level: 50, outcome: code });
  });

  it('a blind tunnel to a closed port answers the CONNECT with 502 upstream_unreachable', async () => {
    const socket = await rawConnection(grantd.proxyUrl);
    socket.write(
      'CONNECT closed-tunnel.grantd.test:443 HTTP/1.1\r\nHost: closed-tunnel.grantd.test:443\r\n\r\n',
    );
    const reply = await readUntilClose(socket);
    expect(reply).toMatch(/^HTTP\/1\.1 502 /);
    expect(reply).toMatch(/Grantd-Error: upstream_unreachable/);
  });

  it('keeps serving afterwards', async () => {
    const res = await request('https://ok.grantd.test/', { dispatcher: agent });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });
});
