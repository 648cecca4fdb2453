import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Dispatcher } from 'undici';

import { statusFor, type ErrorCode } from '../errors.js';
import { elapsedMs, type RequestContext } from './context.js';
import { forwardableRequestHeaders, forwardableResponseHeaders, rawHeader } from './headers.js';
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
  const exchange = new Exchange(ctx, req, res, upstream, options);
  res.once('close', () => exchange.closed());

  if (!options.retryUnauthorized || !isReplayable(req)) {
    exchange.send(options.rewrite, undefined, false);
    return;
  }
  if (!hasBody(req)) {
    exchange.send(options.rewrite, EMPTY, true);
    return;
  }
  void readSmallBody(req).then(
    (body) => {
      if (!res.destroyed) exchange.send(options.rewrite, body, true);
    },
    () => res.destroy(),
  );
}

/**
 * One client request and its upstream attempts (two when a 401 is retried):
 * what the client gets, and how the request ended.
 */
class Exchange {
  readonly ctx: RequestContext;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly options: ForwardOptions;
  readonly #upstream: Upstream;
  #attempt: Attempt | undefined;
  /** The upstream's Content-Length, when its answer has a body of known size. */
  #declaredLength: number | undefined;
  outcome: Outcome | undefined;
  status = 0;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    ctx: RequestContext,
    req: IncomingMessage,
    res: ServerResponse,
    upstream: Upstream,
    options: ForwardOptions,
  ) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.#upstream = upstream;
    this.options = options;
  }

  send(rewrite: Rewrite | undefined, body: Buffer | undefined, retry: boolean): void {
    let headers = forwardableRequestHeaders(this.req.rawHeaders);
    let path = this.req.url ?? '/';
    if (rewrite) ({ headers, path } = rewrite(headers, path));
    const refused = this.options.guarded ? this.#upstream.refusal(this.ctx.target) : undefined;
    if (refused) {
      this.fail(refused);
      return;
    }
    let payload: Buffer | IncomingMessage | null = null;
    if (body !== undefined) {
      this.bytesIn = body.length;
      if (body.length > 0) payload = body;
    } else if (hasBody(this.req)) {
      payload = this.req;
    }
    this.#attempt = new Attempt(this, retry, body, payload === this.req);
    this.#upstream.dispatch(
      this.ctx.target,
      { method: this.ctx.method, path, headers, body: payload },
      this.#attempt,
      { guarded: this.options.guarded === true },
    );
  }

  /** The client's response closed: finished, or the client went away. */
  closed(): void {
    const res = this.res;
    // Delivered, even when the socket closed before 'finish': a client that
    // has read the whole answer may hang up before grantd hears its last
    // write complete, or before undici, paused on that write, reports the end.
    const allSent =
      res.writableEnded ||
      (this.#declaredLength !== undefined && this.bytesOut >= this.#declaredLength);
    if (res.writableFinished) {
      this.outcome ??= 'ok';
    } else if (allSent && res.writableLength === 0) {
      this.outcome ??= 'ok';
      // undici may still hold the upstream answer's end behind a pause: let
      // it read on, so the pooled connection is freed rather than stuck.
      this.#attempt?.release();
    } else {
      this.outcome ??= 'client_aborted';
      this.#attempt?.cancel();
    }
    const finished: Finished = {
      status: res.headersSent ? res.statusCode : this.status,
      outcome: this.outcome,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      durationMs: elapsedMs(this.ctx.startedAt),
    };
    logFinished(this.ctx, finished);
    this.options.onFinished?.(finished);
  }

  /** Writes the upstream's head to the client; false when grantd answered instead. */
  relayHead(attempt: Attempt, status: number, rawHeaders: Buffer[], statusText: string): boolean {
    const { ctx, res } = this;
    this.status = status;
    ctx.metrics?.upstreamSeconds.observe(
      { provider: ctx.logFields?.provider ?? 'none' },
      elapsedMs(ctx.startedAt) / 1000,
    );
    const refusal = this.options.beforeRespond?.(status);
    if (refusal) {
      this.outcome = refusal;
      attempt.cancel();
      sendError(res, refusal, ctx.id);
      return false;
    }
    const headers = forwardableResponseHeaders(latin1(rawHeaders));
    if (ctx.method !== 'HEAD' && status !== 204 && status !== 304) {
      const length = Number(rawHeader(headers, 'content-length'));
      this.#declaredLength = Number.isSafeInteger(length) ? length : undefined;
    }
    headers.push(REQUEST_ID_HEADER, ctx.id);
    // An answer before the upload is done (413, 401) leaves the rest of the
    // body unread: the client connection closes after it (RFC 9112 9.6)
    // rather than waiting on bytes nobody will take.
    if (!this.req.complete) res.shouldKeepAlive = false;
    res.writeHead(status, statusText, headers);
    // A body that came with the head is written in the same write, from
    // onData in this turn; a stream still waiting for its first event
    // (server-sent events) gets its head sent on the next tick.
    process.nextTick(flushHead, res);
    return true;
  }

  /** The upstream failed before its head was relayed: answer with grantd's error. */
  fail(error: Error): void {
    const { ctx, res } = this;
    if (res.headersSent) {
      this.outcome ??= 'upstream_reset';
      res.destroy();
      return;
    }
    const code = classifyUpstreamError(error);
    this.outcome = code;
    this.status = res.destroyed ? 0 : statusFor(code);
    // A refused destination or a request undici would not send is not a
    // failure of grantd's.
    ctx.log[code === 'destination_refused' || code === 'bad_request' ? 'warn' : 'error'](
      { err: error, reqId: ctx.id, host: ctx.target.host, outcome: code },
      'upstream failed',
    );
    if (!res.destroyed) sendError(res, code, ctx.id);
  }

  /** The upstream broke off a response whose head the client already has. */
  reset(error: Error): void {
    if (!this.res.destroyed) {
      this.outcome ??= 'upstream_reset';
      this.ctx.log.warn({ err: error, reqId: this.ctx.id }, 'response stream ended early');
    }
    this.res.destroy();
  }
}

/** Where one upstream attempt is with its response. */
type Phase = 'waiting' | 'held' | 'relaying' | 'discarding' | 'done';

/**
 * One request sent upstream, as an undici dispatch handler. undici's original
 * handler methods are used: they hand over the raw header list, so names keep
 * their case and repeated fields their order, and they are what undici 7
 * calls internally (the newer ones are adapted onto them per request).
 */
class Attempt implements Dispatcher.DispatchHandler {
  readonly #exchange: Exchange;
  readonly #retry: boolean;
  readonly #body: Buffer | undefined;
  #phase: Phase = 'waiting';
  #abort: ((reason?: Error) => void) | undefined;
  #cancelled = false;
  #completed = false;
  #resume: (() => void) | undefined;
  readonly #streamed: boolean;
  readonly #onDrain = () => this.#resume?.();

  constructor(exchange: Exchange, retry: boolean, body: Buffer | undefined, streamed: boolean) {
    this.#exchange = exchange;
    this.#retry = retry;
    this.#body = body;
    this.#streamed = streamed;
  }

  cancel(): void {
    this.#cancelled = true;
    this.#phase = 'done';
    this.#abort?.();
  }

  /** The client has all it will get: whatever the upstream still sends is read and dropped. */
  release(): void {
    if (this.#completed || this.#phase === 'done') return;
    this.#phase = 'discarding';
    this.#resume?.();
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.#abort = abort;
    if (this.#cancelled) {
      abort();
      return;
    }
    // Counted from here, not before: a 'data' listener sets the body flowing,
    // and undici starts reading it in this same turn, once the head is out.
    if (this.#streamed) {
      const exchange = this.#exchange;
      exchange.req.on('data', (chunk: Buffer) => (exchange.bytesIn += chunk.length));
    }
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // Interim answers (102, 103) are not relayed; the final head follows.
    if (status < 200) return true;
    this.#resume = resume;
    const exchange = this.#exchange;
    if (exchange.res.destroyed) {
      this.cancel();
      return false;
    }
    const ask = exchange.options.retryUnauthorized;
    if (this.#retry && status === 401 && ask) {
      // The 401 waits, unread, while a refresh is tried; it is relayed if none comes.
      this.#phase = 'held';
      void this.#retryAfter401(ask, status, rawHeaders, statusText);
      return false;
    }
    return this.#relay(status, rawHeaders, statusText);
  }

  /** Hands the head to the client; from here on, body chunks are relayed. */
  #relay(status: number, rawHeaders: Buffer[], statusText: string): boolean {
    if (!this.#exchange.relayHead(this, status, rawHeaders, statusText)) return false;
    this.#phase = 'relaying';
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#phase !== 'relaying') return true;
    const res = this.#exchange.res;
    this.#exchange.bytesOut += chunk.length;
    if (res.write(chunk)) return true;
    res.once('drain', this.#onDrain);
    return false;
  }

  onComplete(): void {
    // A held 401 can complete while paused (HEAD, or no body): remembered, so
    // it is ended when relayed and its socket, by then another request's, is
    // never resumed.
    this.#completed = true;
    if (this.#phase !== 'relaying') return;
    this.#phase = 'done';
    this.#exchange.res.end();
  }

  onError(error: Error): void {
    const phase = this.#phase;
    this.#phase = 'done';
    if (this.#cancelled || phase === 'discarding' || phase === 'done') return;
    if (phase === 'relaying') this.#exchange.reset(error);
    else this.#exchange.fail(error);
  }

  async #retryAfter401(
    ask: () => Promise<Rewrite | undefined>,
    status: number,
    rawHeaders: Buffer[],
    statusText: string,
  ): Promise<void> {
    const exchange = this.#exchange;
    let rewrite: Rewrite | undefined;
    try {
      rewrite = await ask();
    } catch (error) {
      exchange.ctx.log.warn(
        { err: error, reqId: exchange.ctx.id },
        'refresh after a 401 failed; relaying the 401',
      );
    }
    if (this.#phase !== 'held') return;
    if (exchange.res.destroyed) {
      this.cancel();
      return;
    }
    if (!rewrite) {
      if (!this.#relay(status, rawHeaders, statusText)) return;
      if (this.#completed) {
        this.#phase = 'done';
        exchange.res.end();
        return;
      }
      this.#resume?.();
      return;
    }
    // Read to its end rather than aborted, so the pooled connection is reused.
    this.#phase = 'discarding';
    if (!this.#completed) this.#resume?.();
    exchange.ctx.log.debug(
      { reqId: exchange.ctx.id },
      'upstream answered 401; retrying once with a new token',
    );
    exchange.send(rewrite, this.#body, false);
  }
}

/** Header names and values as node:http gives them: one byte per character. */
function latin1(raw: Buffer[]): string[] {
  const out = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i += 1) out[i] = (raw[i] as Buffer).toString('latin1');
  return out;
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
