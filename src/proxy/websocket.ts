import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import type { Logger } from '../log/logger.js';
import { forwardableRequestHeaders, forwardableResponseHeaders } from './headers.js';
import { REQUEST_ID_HEADER, writeRawError } from './respond.js';
import { joinSockets } from './tunnel.js';
import { classifyUpstreamError, type Upstream, type UpstreamTarget } from './upstream.js';

export interface UpgradeOptions {
  id: string;
  target: UpstreamTarget;
  upstream: Upstream;
  idleTimeoutMs: number;
  log: Logger;
}

/**
 * Relays an HTTP Upgrade (WebSocket) handshake to the upstream. On 101 the two
 * sockets are joined; any other answer is relayed as is and the socket closed.
 */
export function forwardUpgrade(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  options: UpgradeOptions,
): void {
  const { log, id } = options;
  client.on('error', () => client.destroy());

  const upstreamReq = options.upstream.request(options.target, {
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    headers: forwardableRequestHeaders(req.rawHeaders, true),
  });

  upstreamReq.once('upgrade', (res, socket, upstreamHead) => {
    upstreamReq.setTimeout(0);
    client.write(responseHead(res, id, res.rawHeaders));
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (head.length > 0) socket.write(head);
    joinSockets(client, socket, options.idleTimeoutMs);
    log.info({ reqId: id, host: options.target.host, status: 101, outcome: 'ok' }, 'upgrade');
  });

  upstreamReq.once('response', (res) => {
    // Node has already decoded any chunked framing, so the body is relayed
    // raw and delimited by closing the connection.
    const headers = forwardableResponseHeaders(res.rawHeaders).concat('Connection', 'close');
    client.write(responseHead(res, id, headers));
    res.pipe(client);
    log.info(
      { reqId: id, host: options.target.host, status: res.statusCode, outcome: 'ok' },
      'upgrade refused by upstream',
    );
  });

  upstreamReq.once('error', (error) => {
    const code = classifyUpstreamError(error);
    log.error(
      { err: error, reqId: id, host: options.target.host, outcome: code },
      'upgrade failed',
    );
    writeRawError(client, code, id);
  });

  client.once('close', () => {
    if (!upstreamReq.writableFinished) upstreamReq.destroy();
  });
  upstreamReq.end();
}

function responseHead(res: IncomingMessage, id: string, raw: string[]): string {
  let head = `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\n`;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${head}${REQUEST_ID_HEADER}: ${id}\r\n\r\n`;
}
