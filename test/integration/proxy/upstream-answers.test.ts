import { once } from 'node:events';
import type { TLSSocket } from 'node:tls';

import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { connectThrough, rawConnection, readUntil } from '../../helpers/clients.js';
import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

// Answers that are legal HTTP but rare: interim 1xx heads, a 401 to HEAD,
// the asterisk form. Each once broke the relay in its own way.
const HOST = 'api.openai.com';
const TOKEN = 'sk-answers-0123456789abcdef';

let upstream: TestUpstream;
let grantd: InProcessDaemon;
let agent: ProxyAgent;
let key: string;

beforeAll(async () => {
  const pki = await createTestPki();
  upstream = await startUpstream(await pki.issue([HOST]));
  upstream.route('/early-hints', (_req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"after":"hints"}');
  });
  upstream.route('/processing', (_req, res) => {
    res.writeProcessing();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"after":"processing"}');
  });
  upstream.route('/unauthorized', (_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
    res.end('{"error":"nope"}');
  });

  grantd = await startInProcess({
    resolve: { [`${HOST}:443`]: `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath },
  });
  const cli = cliFor(grantd.config.home);
  await cli.createApp('answers');
  key = await cli.mintKey('answers');
  // A static key: a 401 cannot be retried with a fresher one.
  await cli.addGrant('openai', 'answers', 'ai', TOKEN);
  agent = new ProxyAgent({
    uri: proxyWith(grantd.proxyUrl, '_', key),
    requestTls: { ca: [grantd.daemon.authority.certPem] },
  });
});

afterAll(async () => {
  await agent?.close();
  await grantd?.close();
  await upstream?.close();
});

const call = (path: string, method: 'GET' | 'HEAD' = 'GET') =>
  request(`https://${HOST}${path}`, {
    method,
    dispatcher: agent,
    headers: { 'grantd-grant': 'ai' },
  });

describe('upstream answers', () => {
  it.each([
    ['/early-hints', 'hints'],
    ['/processing', 'processing'],
  ])(
    'an interim head before the answer (%s) is skipped; the answer is relayed',
    async (path, after) => {
      const res = await call(path);
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toEqual({ after });
      const rows = await cliFor(grantd.config.home).auditJson();
      // One row per request, with the final status, not the interim one.
      expect(rows.filter((row) => row.path === path).map((row) => row.status)).toEqual([200]);
    },
  );

  it('a 401 to HEAD on a grant that cannot refresh is relayed, not left hanging', async () => {
    const res = await call('/unauthorized', 'HEAD');
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    await res.body.dump();
    // The connection is still good for the next request.
    const next = await call('/unauthorized');
    expect(next.statusCode).toBe(401);
    expect(await next.body.json()).toEqual({ error: 'nope' });
  });

  it('OPTIONS * inside a tunnel gets a clear 400, and grantd logs no failure of its own', async () => {
    const tls: TLSSocket = await connectThrough(
      proxyWith(grantd.proxyUrl, '_', key),
      `${HOST}:443`,
      {
        ca: [grantd.daemon.authority.certPem],
        servername: HOST,
      },
    );
    tls.write(`OPTIONS * HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    const head = await readUntil(tls, '\r\n\r\n');
    tls.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).toMatch(/grantd-error: bad_request/i);
    expect(grantd.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
  });
});

describe('an answer before the upload is done', () => {
  let plain: TestUpstream;

  beforeAll(async () => {
    plain = await startUpstream(undefined, {
      streamRoutes: {
        // Refuses the upload at once, without reading it.
        '/too-big': (_req, res) => {
          res.writeHead(413, { 'content-type': 'text/plain', 'content-length': 8 });
          res.end('too big\n');
        },
      },
    });
  });

  afterAll(async () => {
    await plain?.close();
  });

  it('is relayed, and the client connection then closes instead of hanging', async () => {
    const socket = await rawConnection(grantd.proxyUrl);
    const size = 8 * 1024 * 1024;
    const url = `http://127.0.0.1:${plain.port}/too-big`;
    socket.write(`POST ${url} HTTP/1.1\r\nHost: 127.0.0.1:${plain.port}\r\n`);
    socket.write(`Proxy-Authorization: Basic ${Buffer.from(`_:${key}`).toString('base64')}\r\n`);
    socket.write(`Content-Length: ${size}\r\n\r\n`);
    let text = '';
    socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
    // grantd closing while this still writes is an EPIPE here: the point of the test.
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    // Far more than socket buffers hold: the upstream never reads it.
    const chunk = Buffer.alloc(64 * 1024);
    for (let sent = 0; sent < size && !socket.destroyed; sent += chunk.length) {
      if (!socket.write(chunk)) {
        await Promise.race([once(socket, 'drain'), once(socket, 'close')]).catch(() => undefined);
      }
    }
    await closed;
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toMatch(/connection: close/i);
    expect(text).toContain('too big');
  });
});
