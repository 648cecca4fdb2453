import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** What a fake upstream saw of one request. */
export interface SeenRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  headers: IncomingMessage['headers'];
  bodyBytes: number;
  body: Buffer;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface TestUpstream {
  port: number;
  server: Server;
  /** Every request the server received, in order. */
  seen: SeenRequest[];
  /** Registers a handler for one path; unmatched paths echo what was received as JSON. */
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

/**
 * A real HTTPS (or, without tls, HTTP) server on 127.0.0.1 and an ephemeral
 * port that records every request. Bodies are buffered unless a route wants
 * the raw stream (see `streamRoute`).
 */
export async function startUpstream(
  tls?: { cert: string; key: string },
  options: {
    streamRoutes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
  } = {},
): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const routes = new Map<string, Handler>();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const stream = options.streamRoutes?.[path];
    if (stream) {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        bodyBytes: -1,
        body: Buffer.alloc(0),
      });
      stream(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        bodyBytes: body.length,
        body,
      });
      const handler = routes.get(path);
      if (handler) return handler(req, res, body);
      const text = JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        bodyBytes: body.length,
      });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    });
  };
  const server = tls
    ? createHttpsServer({ ...tls, keepAlive: true }, listener)
    : createServer(listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    server,
    seen,
    route: (path, handler) => routes.set(path, handler),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
