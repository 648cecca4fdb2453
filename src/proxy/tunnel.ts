import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

import type { Logger } from '../log/logger.js';
import { writeRawError } from './respond.js';
import { classifyUpstreamError, type Upstream, type UpstreamTarget } from './upstream.js';

export interface TunnelOptions {
  id: string;
  target: UpstreamTarget;
  head: Buffer;
  upstream: Upstream;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  log: Logger;
}

/**
 * A blind tunnel: connects to the target, answers the CONNECT, then copies
 * bytes both ways without reading them. Resolves with the upstream socket once
 * the tunnel is open, or undefined if it could not be opened.
 */
export function openBlindTunnel(
  client: Duplex,
  options: TunnelOptions,
): Promise<Socket | undefined> {
  const { target, log } = options;
  const address = options.upstream.connectAddress(target);
  const server = connect({ host: address.host, port: address.port });
  const connectTimer = setTimeout(() => {
    server.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
  }, options.connectTimeoutMs);

  let open = false;
  return new Promise((resolve) => {
    server.once('error', (error) => {
      clearTimeout(connectTimer);
      if (!open) {
        const code = classifyUpstreamError(error);
        log.error(
          { err: error, tunnel: options.id, host: target.host, outcome: code },
          'tunnel failed',
        );
        writeRawError(client, code, options.id);
        resolve(undefined);
        return;
      }
      client.destroy();
    });

    server.once('connect', () => {
      open = true;
      clearTimeout(connectTimer);
      if (client.destroyed) {
        server.destroy();
        resolve(undefined);
        return;
      }
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (options.head.length > 0) server.write(options.head);
      joinSockets(client, server, options.idleTimeoutMs);
      log.debug({ tunnel: options.id, host: target.host, port: target.port }, 'tunnel open');
      resolve(server);
    });
  });
}

/**
 * Copies bytes both ways until either side ends, errors or stays silent for
 * `idleTimeoutMs`; then both are closed.
 */
export function joinSockets(a: Duplex, b: Duplex, idleTimeoutMs: number): void {
  const closeBoth = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', closeBoth);
  b.on('error', closeBoth);
  a.once('close', () => b.destroy());
  b.once('close', () => a.destroy());
  for (const side of [a, b]) {
    if ('setTimeout' in side && typeof side.setTimeout === 'function') {
      (side as Socket).setTimeout(idleTimeoutMs, closeBoth);
    }
  }
  a.pipe(b);
  b.pipe(a);
}
