import { once } from 'node:events';

import { ProxyAgent, WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';

import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

let upstream: TestUpstream;
let wss: WebSocketServer;
let grantd: InProcessDaemon;
let agent: ProxyAgent;
const upgradeHeaders: Record<string, string | string[] | undefined>[] = [];

beforeAll(async () => {
  const pki = await createTestPki();
  upstream = await startUpstream(await pki.issue(['ws.grantd.test']));
  wss = new WebSocketServer({ server: upstream.server });
  wss.on('connection', (socket, req) => {
    upgradeHeaders.push(req.headers);
    socket.on('message', (data, isBinary) =>
      socket.send(isBinary ? data : `echo: ${Buffer.from(data as Buffer).toString()}`),
    );
  });
  grantd = await startInProcess({
    // Proxy mechanics only: app keys are covered in test/integration/grants.
    auth: { required: false },
    intercept: ['ws.grantd.test'],
    resolve: { 'ws.grantd.test:443': `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath },
  });
  agent = new ProxyAgent({
    uri: grantd.proxyUrl,
    requestTls: { ca: [grantd.daemon.authority.certPem] },
  });
});

afterAll(async () => {
  await agent?.close();
  await grantd?.close();
  wss?.close();
  await upstream?.close();
});

describe('WebSocket through an intercepted tunnel', () => {
  it('echoes text and binary frames', async () => {
    const ws = new WebSocket('wss://ws.grantd.test/chat', { dispatcher: agent });
    ws.binaryType = 'arraybuffer';
    await once(ws as unknown as EventTarget, 'open');

    const replies: (string | ArrayBuffer)[] = [];
    const allReplies = new Promise<void>((resolve) => {
      ws.addEventListener('message', (event) => {
        replies.push(event.data as string | ArrayBuffer);
        if (replies.length === 2) resolve();
      });
    });
    ws.send('hello');
    ws.send(new Uint8Array([1, 2, 3]));
    await allReplies;
    ws.close();

    expect(replies[0]).toBe('echo: hello');
    expect([...new Uint8Array(replies[1] as ArrayBuffer)]).toEqual([1, 2, 3]);
    expect(upgradeHeaders.at(-1)?.host).toBe('ws.grantd.test');
    expect(upgradeHeaders.at(-1)?.upgrade).toBe('websocket');
  });
});
