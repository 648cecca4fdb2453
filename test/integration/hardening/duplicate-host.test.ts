import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { connectThrough, rawConnection, readUntilClose } from '../../helpers/clients.js';
import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { startQuietUpstream, type QuietUpstream } from './support.js';

const TOKEN = 'sk-duplicate-host-2468ace013579bdf';

let upstream: QuietUpstream;
let grantd: InProcessDaemon;
let key: string;

beforeAll(async () => {
  const pki = await createTestPki();
  upstream = await startQuietUpstream(await pki.issue(['api.openai.com']));
  grantd = await startInProcess({
    resolve: { 'api.openai.com:443': `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath },
  });
  const cli = cliFor(grantd.config.home, grantd.configPath);
  await cli.createApp('app');
  key = await cli.mintKey('app');
  await cli.addGrant('openai', 'app', 'ai', TOKEN);
});

afterAll(async () => {
  await grantd?.close();
  await upstream?.close();
});

const TWO_HOSTS =
  'Host: api.openai.com\r\nHost: evil.example\r\nGrantd-Grant: ai\r\nConnection: close\r\n\r\n';

// Node's parser accepts a repeated Host field and keeps the first in
// req.headers.host; the raw list, both fields included, would go upstream with
// the credential, to a server or CDN that may route by the last one. RFC 9112
// section 3.2: more than one Host field is a 400.
describe('a request with two Host fields', () => {
  it('is refused with 400 inside an intercepted tunnel, before the upstream', async () => {
    const before = upstream.seen.length;
    const secure = await connectThrough(
      proxyWith(grantd.proxyUrl, '_', key),
      'api.openai.com:443',
      {
        ca: [grantd.daemon.authority.certPem],
        servername: 'api.openai.com',
      },
    );
    secure.write(`GET /v1/two-hosts HTTP/1.1\r\n${TWO_HOSTS}`);
    const reply = await readUntilClose(secure);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(upstream.seen.length).toBe(before);
  });

  it('is refused with 400 in absolute form, before the upstream', async () => {
    const before = upstream.seen.length;
    const socket = await rawConnection(grantd.proxyUrl);
    const auth = Buffer.from(`_:${key}`).toString('base64');
    socket.write(
      `GET https://api.openai.com/v1/two-hosts HTTP/1.1\r\nProxy-Authorization: Basic ${auth}\r\n${TWO_HOSTS}`,
    );
    const reply = await readUntilClose(socket);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(upstream.seen.length).toBe(before);
  });
});
