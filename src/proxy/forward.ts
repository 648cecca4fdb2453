import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';

import { statusFor, type ErrorCode } from '../errors.js';
import { elapsedMs, type RequestContext } from './context.js';
import { forwardableRequestHeaders, forwardableResponseHeaders } from './headers.js';
import { REQUEST_ID_HEADER, sendError } from './respond.js';
import { classifyUpstreamError, type Upstream } from './upstream.js';

/** How a proxied request ended, from a closed set: logs and metrics use these. */
export type Outcome = 'ok' | ErrorCode | 'client_aborted' | 'upstream_reset';

/** What the audit log and metrics learn of a finished request. */
export interface Finished {
  status: number;
  outcome: Outcome;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
}

type Rewrite = (headers: string[], path: string) => { headers: string[]; path: string };

export interface ForwardOptions {
  /** Rewrites the forwardable headers and the path: where a credential goes in. */
  rewrite?: Rewrite;
  /**
   * Asked once when the upstream answers 401 to a replayable request: a new
   * rewrite (a refreshed credential) sends the request again, undefined
   * relays the 401 as it is.
   */
  retryUnauthorized?: () => Promise<Rewrite | undefined>;
  /**
   * Runs when the upstream's response head arrives, before it is relayed.
   * Returning an error code answers with that error instead.
   */
  beforeRespond?: (status: number) => ErrorCode | undefined;
  onFinished?: (finished: Finished) => void;
  /** The request carries a credential: the egress guard decides where it may go. */
  guarded?: boolean;
}

/** Bodies up to this size are buffered so a 401 can be retried; larger ones stream. */
export const REPLAY_LIMIT_BYTES = 1_048_576;

/**
 * Sends a client's request to its upstream and streams the answer back. Both
 * bodies flow through with backpressure; neither is ever held whole, except a
 * small request body kept for one retry after a 401.
 */
export function forwardRequest(
  ctx: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  upstream: Upstream,
  options: ForwardOptions = {},
): void {
  let outcome: Outcome | undefined;
  let status = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  let current: ClientRequest | undefined;
  let streamError: Error | undefined;

  const send = (rewrite: Rewrite | undefined, body: Buffer | undefined, retry: boolean) => {
    let headers = forwardableRequestHeaders(req.rawHeaders);
    let path = req.url ?? '/';
    if (rewrite) ({ headers, path } = rewrite(headers, path));
    const refused = options.guarded ? upstream.refusal(ctx.target) : undefined;
    if (refused) {
      onUpstreamError(refused);
      return;
    }
    const upstreamReq = upstream.request(
      ctx.target,
      { method: ctx.method, path, headers },
      { guarded: options.guarded === true },
    );
    current = upstreamReq;

    upstreamReq.once('response', (upstreamRes) => {
      if (retry && upstreamRes.statusCode === 401 && options.retryUnauthorized) {
        void retryAfter401(upstreamRes, options.retryUnauthorized, body);
        return;
      }
      relay(upstreamRes);
    });
    upstreamReq.once('error', (error) => onUpstreamError(error));

    if (body !== undefined) {
      bytesIn = body.length;
      if (body.length === 0) upstreamReq.end();
      else upstreamReq.end(body);
    } else if (!hasBody(req)) {
      upstreamReq.end();
    } else {
      req.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
      pipeline(req, upstreamReq, (error) => {
        if (error && !upstreamReq.destroyed) upstreamReq.destroy(error);
      });
    }
  };

  const retryAfter401 = async (
    first: IncomingMessage,
    ask: () => Promise<Rewrite | undefined>,
    body: Buffer | undefined,
  ) => {
    // The 401 waits, unread, while a refresh is tried; it is relayed if none comes.
    first.pause();
    let rewrite: Rewrite | undefined;
    try {
      rewrite = await ask();
    } catch (error) {
      ctx.log.warn({ err: error, reqId: ctx.id }, 'refresh after a 401 failed; relaying the 401');
    }
    if (res.destroyed) {
      first.destroy();
      return;
    }
    if (!rewrite) {
      first.resume();
      relay(first);
      return;
    }
    // Drained rather than destroyed, so the pooled connection is reused.
    first.resume();
    ctx.log.debug({ reqId: ctx.id }, 'upstream answered 401; retrying once with a new token');
    send(rewrite, body, false);
  };

  const relay = (upstreamRes: IncomingMessage) => {
    status = upstreamRes.statusCode ?? 502;
    ctx.metrics?.upstreamSeconds.observe(
      { provider: ctx.logFields?.provider ?? 'none' },
      elapsedMs(ctx.startedAt) / 1000,
    );
    const refusal = options.beforeRespond?.(status);
    if (refusal) {
      outcome = refusal;
      upstreamRes.destroy();
      sendError(res, refusal, ctx.id);
      return;
    }
    const responseHeaders = forwardableResponseHeaders(upstreamRes.rawHeaders);
    responseHeaders.push(REQUEST_ID_HEADER, ctx.id);
    res.writeHead(status, upstreamRes.statusMessage, responseHeaders);
    upstreamRes.on('data', (chunk: Buffer) => (bytesOut += chunk.length));
    // pipe rather than pipeline: pipeline costs an AbortController and a
    // DOMException per response. Ends are handled here and in res 'close'.
    upstreamRes.pipe(res);
    upstreamRes.on('error', (error) => (streamError = error));
    upstreamRes.once('close', () => {
      if (upstreamRes.complete) return;
      if (!res.destroyed) {
        outcome ??= 'upstream_reset';
        ctx.log.warn({ err: streamError, reqId: ctx.id }, 'response stream ended early');
      }
      res.destroy();
    });
    // Queued after pipe's own tick, so a body that came with the head has
    // been written by then, in one write with it; a stream still waiting for
    // its first event (server-sent events) gets its head sent now.
    process.nextTick(flushHead, res);
  };

  const onUpstreamError = (error: Error) => {
    if (res.headersSent) {
      outcome ??= 'upstream_reset';
      res.destroy();
      return;
    }
    const code = classifyUpstreamError(error);
    outcome = code;
    status = res.destroyed ? 0 : statusFor(code);
    // A refused destination is a policy answer, not a failure of grantd's.
    ctx.log[code === 'destination_refused' ? 'warn' : 'error'](
      { err: error, reqId: ctx.id, host: ctx.target.host, outcome: code },
      'upstream failed',
    );
    if (!res.destroyed) sendError(res, code, ctx.id);
  };

  res.once('close', () => {
    if (res.writableFinished) {
      outcome ??= 'ok';
    } else {
      outcome ??= 'client_aborted';
      current?.destroy();
    }
    const finished = {
      status: res.headersSent ? res.statusCode : status,
      outcome,
      bytesIn,
      bytesOut,
      durationMs: elapsedMs(ctx.startedAt),
    };
    logFinished(ctx, finished);
    options.onFinished?.(finished);
  });

  if (!options.retryUnauthorized || !isReplayable(req)) {
    send(options.rewrite, undefined, false);
    return;
  }
  if (!hasBody(req)) {
    send(options.rewrite, EMPTY, true);
    return;
  }
  void readSmallBody(req).then(
    (body) => {
      if (!res.destroyed) send(options.rewrite, body, true);
    },
    () => res.destroy(),
  );
}

const EMPTY = Buffer.alloc(0);

function flushHead(res: ServerResponse): void {
  if (!res.headersSent && !res.destroyed) res.flushHeaders();
}

/** Whether a body follows the head: without a length or chunking, none does (RFC 9112 6.3). */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * Whether the request can be sent twice: no body, or a declared length small
 * enough to buffer. A chunked body of unknown length streams and is never
 * retried.
 */
function isReplayable(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return false;
  const length = Number(req.headers['content-length'] ?? '0');
  return Number.isInteger(length) && length <= REPLAY_LIMIT_BYTES;
}

async function readSmallBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** One line per proxied request, at info, with nothing secret in it. */
export function logFinished(ctx: RequestContext, finished: Finished): void {
  ctx.metrics?.observe(
    ctx.logFields?.provider,
    finished.outcome,
    finished.status,
    finished.durationMs,
  );
  ctx.log.info(
    {
      reqId: ctx.id,
      method: ctx.method,
      host: ctx.target.host,
      path: ctx.pathForLog,
      status: finished.status,
      ms: finished.durationMs,
      outcome: finished.outcome,
      ...ctx.logFields,
    },
    'request',
  );
}

/** Answers with a grantd error and logs the request line. */
export function refuse(
  ctx: RequestContext,
  res: ServerResponse,
  code: ErrorCode,
  options: {
    message?: string | undefined;
    close?: boolean;
    headers?: Record<string, string>;
    onFinished?: (finished: Finished) => void;
  } = {},
): void {
  sendError(res, code, ctx.id, options);
  res.once('close', () => {
    const finished = {
      status: res.statusCode,
      outcome: code,
      bytesIn: 0,
      bytesOut: 0,
      durationMs: elapsedMs(ctx.startedAt),
    };
    logFinished(ctx, finished);
    options.onFinished?.(finished);
  });
}
