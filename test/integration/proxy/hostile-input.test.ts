import { randomBytes } from 'node:crypto';
import { once } from 'node:events';

import { ProxyAgent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { connectThrough, rawConnection, readUntil, readUntilClose } from '../../helpers/clients.js';
import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

let upstream: TestUpstream;
let grantd: InProcessDaemon;
let agent: ProxyAgent;

beforeAll(async () => {
  const pki = await createTestPki();
  upstream = await startUpstream(await pki.issue(['api.grantd.test']));
  grantd = await startInProcess({
    // Proxy mechanics only: app keys are covered in test/integration/grants.
    auth: { required: false },
    intercept: ['api.grantd.test'],
    resolve: { 'api.grantd.test:443': `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath },
    limits: { header_timeout_ms: 400, max_header_bytes: 8192, tls_handshake_timeout_ms: 400 },
  });
  agent = new ProxyAgent({
    uri: grantd.proxyUrl,
    requestTls: { ca: [grantd.daemon.authority.certPem] },
  });
});

afterAll(async () => {
  await agent?.close();
  await grantd?.close();
  await upstream?.close();
});

// After every hostile client, an ordinary request must still be served.
afterEach(async () => {
  const res = await request('https://api.grantd.test/after', { dispatcher: agent });
  expect(res.statusCode).toBe(200);
  await res.body.dump();
});

async function sendRaw(bytes: string | Buffer): Promise<string> {
  const socket = await rawConnection(grantd.proxyUrl);
  socket.write(bytes);
  return readUntilClose(socket);
}

describe('hostile or broken clients', () => {
  it('a malformed request line gets 400 bad_request and a close', async () => {
    const reply = await sendRaw('THIS IS NOT HTTP\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toMatch(/Grantd-Error: bad_request/);
    expect(reply).toMatch(/"code":"bad_request"/);
  });

  it('oversized headers get 431 and a close', async () => {
    const reply = await sendRaw(
      `GET http://x.test/ HTTP/1.1\r\nHost: x.test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
  });

  it('a CONNECT without a port gets 400', async () => {
    const reply = await sendRaw(
      'CONNECT api.grantd.test HTTP/1.1\r\nHost: api.grantd.test\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('a client dripping its headers byte by byte is cut off', async () => {
    const socket = await rawConnection(grantd.proxyUrl);
    const closed = readUntilClose(socket);
    const line = 'GET http://api.grantd.test/ HTTP/1.1\r\nX-Slow: ';
    socket.write(line);
    // Keep sending one byte at a time until grantd hangs up.
    const drip = setInterval(() => socket.writable && socket.write('a'), 50);
    const reply = await closed;
    clearInterval(drip);
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a client dripping headers inside an intercepted tunnel is cut off too', async () => {
    const socket = await connectThrough(grantd.proxyUrl, 'api.grantd.test:443', {
      ca: [grantd.daemon.authority.certPem],
      servername: 'api.grantd.test',
    });
    const closed = readUntilClose(socket);
    socket.write('GET / HTTP/1.1\r\nX-Slow: ');
    const drip = setInterval(() => socket.writable && socket.write('a'), 50);
    const reply = await closed;
    clearInterval(drip);
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('garbage bytes inside an intercepted tunnel close that tunnel', async () => {
    const socket = await rawConnection(grantd.proxyUrl);
    socket.write('CONNECT api.grantd.test:443 HTTP/1.1\r\nHost: api.grantd.test:443\r\n\r\n');
    expect(await readUntil(socket, '\r\n\r\n')).toMatch(/^HTTP\/1\.1 200/);
    const closed = once(socket, 'close');
    socket.write(randomBytes(4096));
    await closed;
    expect(socket.destroyed).toBe(true);
  });

  it('a tunnel that never starts TLS is closed after the handshake timeout', async () => {
    const socket = await rawConnection(grantd.proxyUrl);
    socket.write('CONNECT api.grantd.test:443 HTTP/1.1\r\nHost: api.grantd.test:443\r\n\r\n');
    expect(await readUntil(socket, '\r\n\r\n')).toMatch(/^HTTP\/1\.1 200/);
    await once(socket, 'close');
    expect(socket.destroyed).toBe(true);
  });

  it('a request line with a bad absolute URL gets 400', async () => {
    const reply = await sendRaw(
      'GET http://[not-a-host/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
  });
});
