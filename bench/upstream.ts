/**
 * The benchmark's upstream API: an HTTPS server on loopback, run as its own
 * child process so its CPU is not charged to the orchestrator or the load
 * generator. It answers a small JSON body, a 64 KiB body, or a streamed body
 * of any length, and counts what it was sent, so the orchestrator can prove a
 * run measured real, injected 200s rather than error responses.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  LARGE_BYTES,
  LARGE_PATH,
  SMALL_BODY,
  SMALL_PATH,
  STREAM_PATH,
  type UpstreamCommand,
  type UpstreamCounters,
  type UpstreamMessage,
  type UpstreamSpec,
} from './protocol.js';

const SMALL = Buffer.from(SMALL_BODY);
const LARGE_BODY = Buffer.alloc(LARGE_BYTES, 'x');
const STREAM_CHUNK = Buffer.alloc(256 * 1024, 'y');

const counters: UpstreamCounters = {
  total: 0,
  connections: 0,
  authorized: 0,
  wrongAuthorization: 0,
  leakedProxyHeaders: 0,
};

function count(req: IncomingMessage, expected: string): void {
  counters.total += 1;
  const authorization = req.headers.authorization;
  if (authorization === expected) counters.authorized += 1;
  else if (authorization !== undefined) counters.wrongAuthorization += 1;
  const { headers } = req;
  if (headers['grantd-grant'] || headers['proxy-authorization'] || headers['proxy-connection']) {
    counters.leakedProxyHeaders += 1;
  }
}

function answer(res: ServerResponse, body: Buffer, type: string): void {
  res.writeHead(200, { 'content-type': type, 'content-length': body.length });
  res.end(body);
}

/** Writes `total` bytes in chunks, waiting for the socket to drain, as a real download would. */
function stream(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const chunk = left >= STREAM_CHUNK.length ? STREAM_CHUNK : STREAM_CHUNK.subarray(0, left);
      left -= chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

function handle(req: IncomingMessage, res: ServerResponse, spec: UpstreamSpec): void {
  count(req, spec.expectedAuthorization);
  // Drain any request body so keep-alive connections stay usable.
  req.resume();
  const url = new URL(req.url ?? '/', 'https://upstream.invalid');
  if (url.pathname === SMALL_PATH) return answer(res, SMALL, 'application/json');
  if (url.pathname === LARGE_PATH) return answer(res, LARGE_BODY, 'application/octet-stream');
  if (url.pathname === STREAM_PATH) return stream(res, Number(url.searchParams.get('bytes') ?? 0));
  res.writeHead(404, { 'content-length': 0 });
  res.end();
}

function send(message: UpstreamMessage): void {
  process.send?.(message);
}

function start(): Server {
  const spec = JSON.parse(process.env.BENCH_UPSTREAM ?? '{}') as UpstreamSpec;
  const server = createServer(
    {
      cert: readFileSync(spec.certFile),
      key: readFileSync(spec.keyFile),
      // Connections must outlive the pauses between runs, or a keep-alive
      // scenario would quietly include reconnects.
      keepAliveTimeout: 120_000,
      headersTimeout: 60_000,
      requestTimeout: 0,
      noDelay: true,
    },
    (req, res) => handle(req, res, spec),
  );
  server.on('secureConnection', () => (counters.connections += 1));
  server.listen(0, '127.0.0.1', () => {
    send({ type: 'ready', port: (server.address() as AddressInfo).port });
  });

  process.on('message', (command: UpstreamCommand) => {
    if (command.type === 'counters') send({ type: 'counters', counters: { ...counters } });
  });
  // The orchestrator closing the channel is the signal to go, so the process
  // ends on its own instead of lingering if the orchestrator crashes.
  process.on('disconnect', () => {
    server.close();
    server.closeAllConnections();
  });
  return server;
}

start();
