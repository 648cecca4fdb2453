import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';

import type { ErrorCode } from '../errors.js';
import { elapsedMs, type RequestContext } from './context.js';
import { forwardableRequestHeaders, forwardableResponseHeaders } from './headers.js';
import { REQUEST_ID_HEADER, sendError } from './respond.js';
import { classifyUpstreamError, type Upstream } from './upstream.js';

/** How a proxied request ended, from a closed set: logs and metrics use these. */
export type Outcome = 'ok' | ErrorCode | 'client_aborted' | 'upstream_reset';

/**
 * Sends a client's request to its upstream and streams the answer back. Both
 * bodies flow through with backpressure; neither is ever held whole.
 */
export function forwardRequest(
  ctx: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  upstream: Upstream,
): void {
  let outcome: Outcome | undefined;
  let status = 0;

  const upstreamReq = upstream.request(ctx.target, {
    method: ctx.method,
    path: req.url ?? '/',
    headers: forwardableRequestHeaders(req.rawHeaders),
  });

  upstreamReq.once('response', (upstreamRes) => {
    status = upstreamRes.statusCode ?? 502;
    const headers = forwardableResponseHeaders(upstreamRes.rawHeaders);
    headers.push(REQUEST_ID_HEADER, ctx.id);
    res.writeHead(status, upstreamRes.statusMessage, headers);
    // Server-sent events and other streams must reach the client as they come.
    res.flushHeaders();
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
    logFinished(ctx, res.headersSent ? res.statusCode : status, outcome ?? 'client_aborted');
  });
}

/** One line per proxied request, at info, with nothing secret in it. */
export function logFinished(ctx: RequestContext, status: number, outcome: Outcome): void {
  ctx.log.info(
    {
      reqId: ctx.id,
      method: ctx.method,
      host: ctx.target.host,
      path: ctx.pathForLog,
      status,
      ms: elapsedMs(ctx.startedAt),
      outcome,
    },
    'request',
  );
}

/** Answers with a grantd error and logs the request line. */
export function refuse(
  ctx: RequestContext,
  res: ServerResponse,
  code: ErrorCode,
  options: { message?: string; close?: boolean; headers?: Record<string, string> } = {},
): void {
  sendError(res, code, ctx.id, options);
  res.once('close', () => logFinished(ctx, res.statusCode, code));
}
