import type { lookup as dnsLookup } from 'node:dns';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildConfig } from '../../../src/config/load.js';
import { Upstream } from '../../../src/proxy/upstream.js';
import { rawConnection, readUntil } from '../../helpers/clients.js';
import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki, type TestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

const TOKEN = 'sk-egress-test-5e4d3c2b1a';

let pki: TestPki;
let upstream: TestUpstream;
let grantd: InProcessDaemon;
let agent: ProxyAgent;
let plain: TestUpstream;
let key: string;

beforeAll(async () => {
  pki = await createTestPki();
  upstream = await startUpstream(await pki.issue(['localhost', 'meta.grantd.test']));
  grantd = await startInProcess({
    providers: {
      local: {
        auth: 'api_key',
        hosts: ['localhost', 'meta.grantd.test', '169.254.169.254'],
      },
      // A provider reached over plain HTTP: its credential is guarded all the same.
      cleartext: { auth: 'api_key', hosts: ['localhost'], allow_cleartext: true },
    },
    // The user's own mapping: allowed for loopback, never for metadata.
    resolve: { 'meta.grantd.test:443': '169.254.169.254:443' },
    upstream: { ca_file: pki.caPath },
  });
  const cli = cliFor(grantd.config.home, grantd.configPath);
  await cli.createApp('app');
  key = await cli.mintKey('app');
  await cli.addGrant('local', 'app', 'dev', TOKEN);
  await cli.addGrant('cleartext', 'app', 'plain', TOKEN);
  plain = await startUpstream();
  agent = new ProxyAgent({
    uri: proxyWith(grantd.proxyUrl, '_', key),
    requestTls: { ca: grantd.daemon.authority.certPem },
  });
});

afterAll(async () => {
  await agent?.close();
  await grantd?.close();
  await upstream?.close();
  await plain?.close();
});

async function call(url: string, grant?: string) {
  const res = await request(url, {
    dispatcher: agent,
    headers: grant ? { 'grantd-grant': grant } : {},
  });
  await res.body.dump();
  return { status: res.statusCode, code: res.headers['grantd-error'] };
}

describe('credentials and private destinations', () => {
  it('refuses a name that resolves to loopback when the request carries a credential', async () => {
    const before = upstream.seen.length;
    const result = await call(`https://localhost:${upstream.port}/with-token`, 'dev');
    expect(result).toEqual({ status: 403, code: 'destination_refused' });
    expect(upstream.seen.length).toBe(before);
  });

  it('refuses loopback for a credential sent over plain HTTP too', async () => {
    // Absolute form, as clients send plain HTTP to a proxy.
    const socket = await rawConnection(grantd.proxyUrl);
    const auth = Buffer.from(`_:${key}`).toString('base64');
    socket.write(
      `GET http://localhost:${plain.port}/with-token HTTP/1.1\r\nHost: localhost:${plain.port}\r\n` +
        `Proxy-Authorization: Basic ${auth}\r\nGrantd-Grant: plain\r\nConnection: close\r\n\r\n`,
    );
    const head = await readUntil(socket, '\r\n\r\n');
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 403 /);
    expect(head).toMatch(/grantd-error: destination_refused/i);
    expect(plain.seen).toEqual([]);
  });

  it('lets the same destination through when no credential rides along', async () => {
    const result = await call(`https://localhost:${upstream.port}/untagged`);
    expect(result.status).toBe(200);
    expect(upstream.seen.at(-1)?.url).toBe('/untagged');
    expect(upstream.seen.at(-1)?.headers.authorization).toBeUndefined();
  });

  it('refuses a metadata address even when a resolve: entry names it', async () => {
    expect(await call('https://meta.grantd.test/latest/meta-data/', 'dev')).toEqual({
      status: 403,
      code: 'destination_refused',
    });
  });

  it('refuses a metadata IP literal before connecting', async () => {
    expect(await call('https://169.254.169.254/latest/meta-data/', 'dev')).toEqual({
      status: 403,
      code: 'destination_refused',
    });
  });
});

describe('DNS rebinding', () => {
  it('sends the credential to the address that was checked, never to a second answer', async () => {
    // Two servers on one port: 127.0.0.2 is allowed, 127.0.0.1 (the
    // "rebound" answer) is not, and must never see a request.
    const leaf = await pki.issue(['rebind.grantd.test']);
    const hits = { allowed: 0, rebound: 0 };
    const allowed = createServer(leaf, (_req, res) => {
      hits.allowed += 1;
      res.end('ok');
    }).listen(0, '127.0.0.2');
    await once(allowed, 'listening');
    const port = (allowed.address() as AddressInfo).port;
    const rebound = createServer(leaf, (_req, res) => {
      hits.rebound += 1;
      res.end('stolen');
    }).listen(port, '127.0.0.1');
    await once(rebound, 'listening');

    let lookups = 0;
    const answers = ['127.0.0.2', '127.0.0.1'];
    const resolve = ((_host: string, _options: unknown, callback: (...args: unknown[]) => void) => {
      const address = answers[Math.min(lookups, answers.length - 1)] as string;
      lookups += 1;
      callback(null, [{ address, family: 4 }]);
    }) as unknown as typeof dnsLookup;

    const config = buildConfig(
      { upstream: { ca_file: pki.caPath }, egress: { allow: ['127.0.0.2/32'] } },
      { env: {} },
    );
    const client = new Upstream(config, { resolve });
    try {
      const req = client.request(
        { host: 'rebind.grantd.test', port, secure: true },
        {
          method: 'GET',
          path: '/',
          headers: ['Host', 'rebind.grantd.test', 'Authorization', `Bearer ${TOKEN}`],
        },
        { guarded: true },
      );
      req.end();
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      res.resume();
      await once(res, 'end');
      // One lookup decided the connection: had the socket layer asked DNS
      // again, it would have been sent to 127.0.0.1.
      expect(lookups).toBe(1);
      expect(hits).toEqual({ allowed: 1, rebound: 0 });

      // A fresh connection asks again, gets the refused answer, and is refused.
      client.close();
      const second = new Upstream(config, { resolve });
      const again = second.request(
        { host: 'rebind.grantd.test', port, secure: true },
        {
          method: 'GET',
          path: '/',
          headers: ['Host', 'rebind.grantd.test', 'Authorization', `Bearer ${TOKEN}`],
        },
        { guarded: true },
      );
      again.end();
      const [error] = (await once(again, 'error')) as [NodeJS.ErrnoException];
      expect(error.code).toBe('GRANTD_DESTINATION_REFUSED');
      expect(hits.rebound).toBe(0);
      second.close();
    } finally {
      client.close();
      allowed.close();
      rebound.close();
    }
  });
});
