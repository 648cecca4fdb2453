/**
 * The benchmark's upstream API: an HTTPS server on loopback, run as its own
 * child process so its CPU is not charged to the orchestrator or the load
 * generator. It answers a small JSON body, a 64 KiB body, or a streamed body
 * of any length, and counts what it was sent, so the orchestrator can prove a
 * run measured real, injected 200s rather than error responses. It also plays
 * the OAuth provider of the refresh storm: a token endpoint that answers after
 * a fixed delay and counts its calls, and an API that takes only the access
 * token issued last.
 */
import { randomBytes } from 'node:crypto';
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
  TOKEN_PATH,
  type UpstreamCommand,
  type UpstreamCounters,
  type UpstreamMessage,
  type UpstreamOAuthSpec,
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
  tokenRequests: 0,
  oauthAuthorized: 0,
  oauthRefused: 0,
};

/** The access token the token endpoint issued last; nothing is valid before the first refresh. */
let issuedAccessToken: string | undefined;

function isIssued(authorization: string | undefined): boolean {
  return issuedAccessToken !== undefined && authorization === `Bearer ${issuedAccessToken}`;
}

/** The Host header without its port: grantd forwards the name the app asked for. */
function hostOf(req: IncomingMessage): string {
  return (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
}

function count(req: IncomingMessage, spec: UpstreamSpec, host: string): void {
  counters.total += 1;
  const authorization = req.headers.authorization;
  if (host === spec.oauth.apiHost) {
    // Untagged warm-up requests pass grantd without a token; any token must be the new one.
    if (isIssued(authorization)) counters.oauthAuthorized += 1;
    else if (authorization !== undefined) counters.oauthRefused += 1;
  } else if (authorization === spec.expectedAuthorization) counters.authorized += 1;
  else if (authorization !== undefined) counters.wrongAuthorization += 1;
  const { headers } = req;
  if (headers['grantd-grant'] || headers['proxy-authorization'] || headers['proxy-connection']) {
    counters.leakedProxyHeaders += 1;
  }
}

function json(res: ServerResponse, status: number, doc: unknown): void {
  const body = JSON.stringify(doc);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * The token endpoint (RFC 6749 section 6, client_secret_post): every POST
 * counts, however it is answered, since the storm's figure is how many
 * calls grantd made. A valid refresh gets a new access token after
 * `delayMs`; the refresh token is not rotated, so a second refresh would
 * succeed too and show up in the count rather than as failed requests.
 */
function token(req: IncomingMessage, res: ServerResponse, oauth: UpstreamOAuthSpec): void {
  counters.tokenRequests += 1;
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.once('end', () => {
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    if (
      form.get('client_id') !== oauth.clientId ||
      form.get('client_secret') !== oauth.clientSecret
    ) {
      return json(res, 401, { error: 'invalid_client' });
    }
    if (form.get('grant_type') !== 'refresh_token') {
      return json(res, 400, { error: 'unsupported_grant_type' });
    }
    if (form.get('refresh_token') !== oauth.refreshToken) {
      return json(res, 400, { error: 'invalid_grant' });
    }
    setTimeout(() => {
      issuedAccessToken = `at_fresh_${randomBytes(16).toString('hex')}`;
      json(res, 200, { access_token: issuedAccessToken, token_type: 'Bearer', expires_in: 3600 });
    }, oauth.delayMs);
  });
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
  const url = new URL(req.url ?? '/', 'https://upstream.invalid');
  const host = hostOf(req);
  if (host === spec.oauth.tokenHost) {
    if (req.method === 'POST' && url.pathname === TOKEN_PATH) return token(req, res, spec.oauth);
    req.resume();
    return json(res, 404, { error: 'not_found' });
  }
  count(req, spec, host);
  // Drain any request body so keep-alive connections stay usable.
  req.resume();
  // The OAuth API refuses a stale or made-up token, as a real one would.
  const { authorization } = req.headers;
  if (host === spec.oauth.apiHost && authorization !== undefined && !isIssued(authorization)) {
    return json(res, 401, { error: 'invalid_token' });
  }
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
