import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';

import type { ErrorCode } from '../errors.js';
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

export interface ForwardOptions {
  /** Rewrites the forwardable headers and the path: where a credential goes in. */
  rewrite?: (headers: string[], path: string) => { headers: string[]; path: string };
  /**
   * Runs when the upstream's response head arrives, before it is relayed.
   * Returning an error code answers with that error instead.
   */
  beforeRespond?: (status: number) => ErrorCode | undefined;
  onFinished?: (finished: Finished) => void;
}

/**
 * Sends a client's request to its upstream and streams the answer back. Both
 * bodies flow through with backpressure; neither is ever held whole.
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

  let headers = forwardableRequestHeaders(req.rawHeaders);
  let path = req.url ?? '/';
  if (options.rewrite) ({ headers, path } = options.rewrite(headers, path));
  const upstreamReq = upstream.request(ctx.target, { method: ctx.method, path, headers });

  upstreamReq.once('response', (upstreamRes) => {
    status = upstreamRes.statusCode ?? 502;
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
    // Server-sent events and other streams must reach the client as they come.
    res.flushHeaders();
    upstreamRes.on('data', (chunk: Buffer) => (bytesOut += chunk.length));
    pipeline(upstreamRes, res, (error) => {
      if (!error) {
        outcome ??= 'ok';
        return;
      }
      outcome ??= res.destroyed && !upstreamRes.destroyed ? 'client_aborted' : 'upstream_reset';
      ctx.log.warn({ err: error, reqId: ctx.id }, 'response stream ended early');
    });
  });

  upstreamReq.once('error', (error) => {
    if (res.headersSent) {
      outcome ??= 'upstream_reset';
      res.destroy();
      return;
    }
    const code = classifyUpstreamError(error);
    outcome = code;
    status = res.destroyed ? 0 : 502;
    ctx.log.error(
      { err: error, reqId: ctx.id, host: ctx.target.host, outcome: code },
      'upstream failed',
    );
    if (!res.destroyed) sendError(res, code, ctx.id);
  });

  req.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
  pipeline(req, upstreamReq, (error) => {
    if (error && !upstreamReq.destroyed) upstreamReq.destroy(error);
  });

  res.once('close', () => {
    if (res.writableFinished) {
      outcome ??= 'ok';
    } else {
      outcome ??= 'client_aborted';
      upstreamReq.destroy();
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
}

/** One line per proxied request, at info, with nothing secret in it. */
export function logFinished(ctx: RequestContext, finished: Finished): void {
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
