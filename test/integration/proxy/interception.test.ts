import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { connectThrough, curl, python, readUntil } from '../../helpers/clients.js';
import { startInProcess, tempDir, type InProcessDaemon } from '../../helpers/daemon.js';
import { createTestPki, type TestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

let pki: TestPki;
let upstream: TestUpstream;
let plain: TestUpstream;
let grantd: InProcessDaemon;
let grantdCa: string;
let bundle: string;

beforeAll(async () => {
  pki = await createTestPki();
  upstream = await startUpstream(await pki.issue(['api.grantd.test', 'tunnel.grantd.test']));
  plain = await startUpstream();
  grantd = await startInProcess({
    // Proxy mechanics only: app keys are covered in test/integration/grants.
    auth: { required: false },
    intercept: ['api.grantd.test'],
    resolve: {
      'api.grantd.test:443': `127.0.0.1:${upstream.port}`,
      'tunnel.grantd.test:443': `127.0.0.1:${upstream.port}`,
      'plain.grantd.test:80': `127.0.0.1:${plain.port}`,
    },
    upstream: { ca_file: pki.caPath },
  });
  grantdCa = grantd.daemon.authority.certPem;
  bundle = join(tempDir(), 'bundle.pem');
  writeFileSync(bundle, grantdCa + pki.caPem);
});

afterAll(async () => {
  await grantd?.close();
  await upstream?.close();
  await plain?.close();
});

function lastSeen() {
  const seen = upstream.seen.at(-1);
  if (!seen) throw new Error('the upstream received nothing');
  return seen;
}

describe('CONNECT to an intercepted host', () => {
  it('is served with a leaf certificate issued by the grantd CA', async () => {
    const socket = await connectThrough(grantd.proxyUrl, 'api.grantd.test:443', {
      ca: [grantdCa],
      servername: 'api.grantd.test',
    });
    const cert = socket.getPeerCertificate();
    socket.destroy();
    expect(cert.issuer.CN).toMatch(/^grantd local CA/);
    expect(cert.subjectaltname).toBe('DNS:api.grantd.test');
    const lifetimeDays = (Date.parse(cert.valid_to) - Date.parse(cert.valid_from)) / 86_400_000;
    expect(lifetimeDays).toBeLessThan(10);
  });

  it('forwards curl requests with their headers and strips grantd and proxy headers', async () => {
    const before = upstream.seen.length;
    const result = await curl([
      '-x',
      grantd.proxyUrl,
      '--cacert',
      bundle,
      '-H',
      'X-Custom-Header: kept as sent',
      '-H',
      'Grantd-Trace: some-value',
      '-D',
      '-',
      'https://api.grantd.test/echo?q=1',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(result.stdout).toMatch(/grantd-request-id: req_[0-9a-z]+[0-9A-Za-z]{12}\r\n/i);
    expect(upstream.seen.length).toBe(before + 1);
    const seen = lastSeen();
    expect(seen.url).toBe('/echo?q=1');
    expect(seen.rawHeaders).toContain('X-Custom-Header');
    expect(seen.headers['x-custom-header']).toBe('kept as sent');
    expect(seen.headers.host).toBe('api.grantd.test');
    expect(seen.headers['grantd-grant']).toBeUndefined();
  });

  it('drops hop-by-hop, proxy and Grantd-* fields sent inside the tunnel', async () => {
    const socket = await connectThrough(grantd.proxyUrl, 'api.grantd.test:443', {
      ca: [grantdCa],
      servername: 'api.grantd.test',
    });
    socket.write(
      'GET /raw HTTP/1.1\r\nHost: api.grantd.test\r\n' +
        'X-MiXeD-Case: 1\r\nProxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n' +
        'Proxy-Connection: keep-alive\r\nGrantd-Anything: x\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n\r\n',
    );
    const response = await readUntil(socket, '}');
    socket.destroy();
    expect(response).toMatch(/^HTTP\/1\.1 200/);
    const seen = lastSeen();
    expect(seen.url).toBe('/raw');
    expect(seen.rawHeaders).toContain('X-MiXeD-Case');
    for (const gone of ['proxy-authorization', 'proxy-connection', 'grantd-anything', 'x-hop']) {
      expect(seen.headers[gone], gone).toBeUndefined();
    }
  });

  it('refuses a request whose Host differs from the tunnel destination, before the upstream', async () => {
    const before = upstream.seen.length;
    const socket = await connectThrough(grantd.proxyUrl, 'api.grantd.test:443', {
      ca: [grantdCa],
      servername: 'api.grantd.test',
    });
    socket.write('GET /x HTTP/1.1\r\nHost: tunnel.grantd.test\r\n\r\n');
    const response = await readUntil(socket, '}}');
    socket.destroy();
    expect(response).toMatch(/^HTTP\/1\.1 400/);
    expect(response).toMatch(/Grantd-Error: bad_request/i);
    expect(upstream.seen.length).toBe(before);
  });

  it('works for Python requests', async () => {
    const result = await python(
      [
        'import json, requests',
        `r = requests.get("https://api.grantd.test/py", headers={"X-From": "python"}, proxies={"https": "${grantd.proxyUrl}"}, verify="${bundle}", timeout=20)`,
        'print(json.dumps({"status": r.status_code, "rid": r.headers.get("Grantd-Request-Id"), "body": r.json()}))',
      ].join('\n'),
    );
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout) as {
      status: number;
      rid: string;
      body: { url: string; headers: Record<string, string> };
    };
    expect(out.status).toBe(200);
    expect(out.rid).toMatch(/^req_/);
    expect(out.body.url).toBe('/py');
    expect(out.body.headers['x-from']).toBe('python');
  });

  it("works for undici's ProxyAgent, with a JSON body", async () => {
    const agent = new ProxyAgent({ uri: grantd.proxyUrl, requestTls: { ca: [grantdCa] } });
    try {
      const res = await request('https://api.grantd.test/undici', {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ hello: 'world' }),
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['grantd-request-id']).toMatch(/^req_/);
      const body = (await res.body.json()) as { method: string; bodyBytes: number };
      expect(body).toMatchObject({ method: 'POST', bodyBytes: 17 });
      expect(lastSeen().body.toString()).toBe('{"hello":"world"}');
    } finally {
      await agent.close();
    }
  });

  it('logs one line per request with no query string and no header values', async () => {
    await curl([
      '-x',
      grantd.proxyUrl,
      '--cacert',
      bundle,
      '-H',
      'Authorization: Bearer sk-do-not-log',
      'https://api.grantd.test/logged?token=qs-secret',
    ]);
    const line = grantd.logs.find((l) => l.msg === 'request' && l.path === '/logged');
    expect(line).toMatchObject({
      method: 'GET',
      host: 'api.grantd.test',
      status: 200,
      outcome: 'ok',
    });
    expect(typeof line?.ms).toBe('number');
    const all = grantd.rawLogs.join('\n');
    expect(all).not.toContain('sk-do-not-log');
    expect(all).not.toContain('qs-secret');
  });
});

describe('CONNECT to any other host', () => {
  it("is a blind tunnel: the client sees the upstream's own certificate", async () => {
    const socket = await connectThrough(grantd.proxyUrl, 'tunnel.grantd.test:443', {
      ca: [pki.caPem],
      servername: 'tunnel.grantd.test',
    });
    const cert = socket.getPeerCertificate();
    socket.destroy();
    expect(cert.issuer.CN).toBe('grantd test upstream CA');
  });

  it('passes curl requests through untouched, with no Grantd-Request-Id', async () => {
    const result = await curl([
      '-x',
      grantd.proxyUrl,
      '--cacert',
      pki.caPath,
      '-D',
      '-',
      '-H',
      'Grantd-Grant: g',
      'https://tunnel.grantd.test/tunnelled',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(result.stdout.toLowerCase()).not.toContain('grantd-request-id');
    // grantd never read the tunnel, so the header went through as the client sent it.
    expect(lastSeen().headers['grantd-grant']).toBe('g');
  });
});

describe('absolute-form requests', () => {
  it('forward plain HTTP without proxy credentials or Grantd-* fields', async () => {
    const result = await curl([
      '-x',
      grantd.proxyUrl,
      '--proxy-user',
      'user:pw-not-forwarded',
      '-H',
      'Grantd-Trace: g',
      '-D',
      '-',
      'http://plain.grantd.test/abs?x=1',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(result.stdout).toMatch(/grantd-request-id: req_/i);
    const seen = plain.seen.at(-1)!;
    expect(seen.url).toBe('/abs?x=1');
    expect(seen.headers['proxy-authorization']).toBeUndefined();
    expect(seen.headers['grantd-grant']).toBeUndefined();
  });

  it('refuse a Host header that disagrees with the URL', async () => {
    const before = plain.seen.length;
    const result = await curl([
      '-x',
      grantd.proxyUrl,
      '-H',
      'Host: elsewhere.test',
      '-D',
      '-',
      'http://plain.grantd.test/abs',
    ]);
    expect(result.stdout).toMatch(/^HTTP\/1\.1 400/);
    expect(result.stdout).toMatch(/grantd-error: bad_request/i);
    expect(plain.seen.length).toBe(before);
  });

  it('answer an origin-form request with a hint', async () => {
    const res = await fetch(`${grantd.proxyUrl}/`);
    expect(res.status).toBe(400);
    expect(res.headers.get('grantd-error')).toBe('bad_request');
    const body = (await res.json()) as {
      error: { code: string; message: string; request_id: string };
    };
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toMatch(/forward proxy/);
    expect(body.error.request_id).toBe(res.headers.get('grantd-request-id'));
  });
});
