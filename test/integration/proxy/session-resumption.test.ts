import { once } from 'node:events';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rawConnection, readUntil } from '../../helpers/clients.js';
import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';

// A client that reconnects offers its session ticket: grantd resumes it, so
// the repeat handshake skips the leaf certificate and its signature.
const HOST = 'resume.grantd.test';

let grantd: InProcessDaemon;

beforeAll(async () => {
  grantd = await startInProcess({ auth: { required: false }, intercept: [HOST] });
});

afterAll(async () => {
  await grantd?.close();
});

async function handshake(session: Buffer | undefined) {
  const socket = await rawConnection(grantd.proxyUrl);
  socket.write(`CONNECT ${HOST}:443 HTTP/1.1\r\nHost: ${HOST}:443\r\n\r\n`);
  expect(await readUntil(socket, '\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
  const tls: TLSSocket = tlsConnect({
    socket,
    servername: HOST,
    ca: [grantd.daemon.authority.certPem],
    session,
  });
  // TLS 1.3 tickets arrive after a full handshake; the first one is enough.
  const ticket = session ? undefined : (once(tls, 'session') as Promise<[Buffer]>);
  await once(tls, 'secureConnect');
  const next = ticket ? (await ticket)[0] : undefined;
  const reused = tls.isSessionReused();
  const protocol = tls.getProtocol();
  tls.destroy();
  return { next, reused, protocol };
}

describe('TLS session resumption for clients', () => {
  it('resumes a session the client offers again', async () => {
    const first = await handshake(undefined);
    expect(first).toMatchObject({ reused: false, protocol: 'TLSv1.3' });
    expect(first.next).toBeInstanceOf(Buffer);
    const second = await handshake(first.next);
    expect(second).toMatchObject({ reused: true, protocol: 'TLSv1.3' });
  });
});
