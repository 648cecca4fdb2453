import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';

import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { spawnDaemon, type ChildDaemon } from '../../helpers/daemon.js';
import { createTestPki, type TestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

const MiB = 1024 * 1024;
const TRANSFER_BYTES = 200 * MiB;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

let pki: TestPki;
let upstream: TestUpstream;
let grantd: ChildDaemon;
let agent: ProxyAgent;
let releaseSecondEvent: () => void;
const secondEventGate = new Promise<void>((resolve) => (releaseSecondEvent = resolve));

beforeAll(async () => {
  pki = await createTestPki();
  upstream = await startUpstream(await pki.issue(['stream.grantd.test']), {
    streamRoutes: {
      '/events': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: first\n\n');
        // The second event is held until the client has seen the first: a
        // proxy that buffered the stream would never let the test get here.
        void secondEventGate.then(() => res.end('data: second\n\n'));
      },
      '/sink': (req, res) => {
        let bytes = 0;
        req.on('data', (chunk: Buffer) => (bytes += chunk.length));
        req.on('end', () => res.end(JSON.stringify({ bytes })));
      },
      '/source': (_req, res) => {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': TRANSFER_BYTES,
        });
        let sent = 0;
        const pump = () => {
          while (sent < TRANSFER_BYTES) {
            sent += CHUNK.length;
            if (!res.write(CHUNK)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      },
    },
  });
  grantd = await spawnDaemon({
    // Proxy mechanics only: app keys are covered in test/integration/grants.
    auth: { required: false },
    intercept: ['stream.grantd.test'],
    resolve: { 'stream.grantd.test:443': `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath },
  });
  agent = new ProxyAgent({
    uri: grantd.proxyUrl,
    requestTls: { ca: [readFileSync(`${grantd.home}/ca/ca.pem`, 'utf8')] },
  });
});

afterAll(async () => {
  await agent?.close();
  await grantd?.stop();
  await upstream?.close();
});

/** Resident and peak resident memory of a process, in bytes. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

describe('streaming through an intercepted tunnel', () => {
  it('delivers server-sent events one by one', { timeout: 10_000 }, async () => {
    const res = await request('https://stream.grantd.test/events', { dispatcher: agent });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    const events: string[] = [];
    let text = '';
    for await (const chunk of res.body) {
      text += (chunk as Buffer).toString();
      const parts = text.split('\n\n');
      text = parts.pop() ?? '';
      events.push(...parts);
      if (events.length === 1) releaseSecondEvent();
    }
    expect(events).toEqual(['data: first', 'data: second']);
  });

  it('moves 200 MiB up and 200 MiB down with flat memory', { timeout: 120_000 }, async () => {
    const before = memoryOf(grantd.pid);

    function* body() {
      for (let sent = 0; sent < TRANSFER_BYTES; sent += CHUNK.length) yield CHUNK;
    }
    const up = await request('https://stream.grantd.test/sink', {
      dispatcher: agent,
      method: 'POST',
      body: Readable.from(body()),
    });
    expect(await up.body.json()).toEqual({ bytes: TRANSFER_BYTES });

    const down = await request('https://stream.grantd.test/source', { dispatcher: agent });
    let received = 0;
    for await (const chunk of down.body) received += (chunk as Buffer).length;
    expect(received).toBe(TRANSFER_BYTES);

    const after = memoryOf(grantd.pid);
    const growth = after.peak - before.rss;
    expect(growth, `RSS grew by ${Math.round(growth / MiB)} MiB`).toBeLessThan(100 * MiB);
  });
});
