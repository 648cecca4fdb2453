import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

import { ProxyAgent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';

import { spawnDaemon, type ChildDaemon } from '../../helpers/daemon.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An upstream whose /slow route answers only when the test says so. */
async function setup(graceMs: number) {
  const pki = await createTestPki();
  let arrived!: () => void;
  const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const upstream: TestUpstream = await startUpstream(await pki.issue(['slow.grantd.test']), {
    streamRoutes: {
      '/slow': (req, res) => {
        req.resume();
        arrived();
        void released.then(() => res.end('finished'));
      },
    },
  });
  const grantd: ChildDaemon = await spawnDaemon({
    // Proxy mechanics only: app keys are covered in test/integration/grants.
    auth: { required: false },
    intercept: ['slow.grantd.test'],
    resolve: { 'slow.grantd.test:443': `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath },
    shutdown: { grace_ms: graceMs },
  });
  const agent = new ProxyAgent({
    uri: grantd.proxyUrl,
    requestTls: { ca: [readFileSync(`${grantd.home}/ca/ca.pem`, 'utf8')] },
  });
  cleanups.push(async () => {
    release();
    await agent.close().catch(() => undefined);
    await grantd.stop();
    await upstream.close();
  });
  return { grantd, agent, requestArrived, release };
}

function connectionRefused(proxyUrl: string): Promise<boolean> {
  const url = new URL(proxyUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('SIGTERM', () => {
  it('stops accepting, lets the in-flight request finish, then exits 0', async () => {
    const { grantd, agent, requestArrived, release } = await setup(10_000);
    const pending = request('https://slow.grantd.test/slow', { dispatcher: agent });
    await requestArrived;

    grantd.child.kill('SIGTERM');
    await grantd.waitForLog((l) => l.msg === 'shutting down');
    expect(await connectionRefused(grantd.proxyUrl)).toBe(true);

    release();
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('finished');
    expect(await grantd.exited).toEqual({ code: 0, signal: null });
  });

  it('closes what is still open once the grace period ends, and still exits 0', async () => {
    const { grantd, agent, requestArrived } = await setup(200);
    const pending = request('https://slow.grantd.test/slow', { dispatcher: agent }).then(
      () => 'answered',
      () => 'cut off',
    );
    await requestArrived;
    grantd.child.kill('SIGTERM');
    expect(await grantd.exited).toEqual({ code: 0, signal: null });
    expect(await pending).toBe('cut off');
  });
});
