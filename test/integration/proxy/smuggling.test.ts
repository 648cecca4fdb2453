import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { connectThrough, rawConnection, readUntilClose } from '../../helpers/clients.js';
import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

let upstream: TestUpstream;
let plain: TestUpstream;
let grantd: InProcessDaemon;
let key: string;

beforeAll(async () => {
  const pki = await createTestPki();
  upstream = await startUpstream(await pki.issue(['api.openai.com']));
  plain = await startUpstream();
  grantd = await startInProcess({
    resolve: {
      'api.openai.com:443': `127.0.0.1:${upstream.port}`,
      'plain.grantd.test:80': `127.0.0.1:${plain.port}`,
    },
    upstream: { ca_file: pki.caPath },
  });
  const cli = cliFor(grantd.config.home, grantd.configPath);
  await cli.createApp('app');
  key = await cli.mintKey('app');
  await cli.addGrant('openai', 'app', 'ai', 'sk-smuggling-test-13579');
});

afterAll(async () => {
  await grantd?.close();
  await upstream?.close();
  await plain?.close();
});

/** Sends raw bytes inside an intercepted tunnel and reads until grantd closes. */
async function insideTunnel(bytes: string): Promise<string> {
  const secure = await connectThrough(proxyWith(grantd.proxyUrl, '_', key), 'api.openai.com:443', {
    ca: [grantd.daemon.authority.certPem],
    servername: 'api.openai.com',
  });
  secure.write(bytes);
  return readUntilClose(secure);
}

async function absolute(bytes: string): Promise<string> {
  const socket = await rawConnection(grantd.proxyUrl);
  socket.write(bytes);
  return readUntilClose(socket);
}

const cases: [string, string][] = [
  [
    'Content-Length and Transfer-Encoding together',
    'POST /v1/x HTTP/1.1\r\nHost: api.openai.com\r\nGrantd-Grant: ai\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  ],
  [
    'two different Content-Length headers',
    'POST /v1/x HTTP/1.1\r\nHost: api.openai.com\r\nGrantd-Grant: ai\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
  ],
  [
    'obsolete line folding',
    'GET /v1/x HTTP/1.1\r\nHost: api.openai.com\r\nGrantd-Grant: ai\r\nX-Folded: a\r\n b\r\n\r\n',
  ],
  [
    'a bare CR inside the grant header',
    'GET /v1/x HTTP/1.1\r\nHost: api.openai.com\r\nGrantd-Grant: ai\rX-Injected: 1\r\n\r\n',
  ],
  [
    'a bare LF inside a header value',
    'GET /v1/x HTTP/1.1\r\nHost: api.openai.com\r\nX-Note: a\nGrantd-Grant: ai\r\n\r\n',
  ],
  [
    'a Transfer-Encoding other than chunked',
    'POST /v1/x HTTP/1.1\r\nHost: api.openai.com\r\nGrantd-Grant: ai\r\nTransfer-Encoding: gzip, identity\r\n\r\n',
  ],
];

describe('request smuggling and header hygiene, inside an intercepted tunnel', () => {
  it.each(cases)('refuses %s with 400 before anything is forwarded', async (_name, bytes) => {
    const before = upstream.seen.length;
    const reply = await insideTunnel(bytes);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(upstream.seen.length).toBe(before);
  });
});

describe('request smuggling on absolute-form requests', () => {
  it.each(cases)('refuses %s with 400 before anything is forwarded', async (_name, bytes) => {
    const before = plain.seen.length;
    const reply = await absolute(
      bytes
        .replace('/v1/x', 'http://plain.grantd.test/v1/x')
        .replace('Host: api.openai.com', 'Host: plain.grantd.test'),
    );
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(plain.seen.length).toBe(before);
  });

  it('refuses proxy credentials with a CR in them', async () => {
    const reply = await absolute(
      `GET http://plain.grantd.test/ HTTP/1.1\r\nHost: plain.grantd.test\r\nProxy-Authorization: Basic abc\rdef\r\n\r\n`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('refuses an absolute-form request whose Host names another host', async () => {
    const before = plain.seen.length;
    const reply = await absolute(
      'GET http://plain.grantd.test/ HTTP/1.1\r\nHost: api.openai.com\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(plain.seen.length).toBe(before);
  });
});
