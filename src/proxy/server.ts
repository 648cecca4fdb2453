import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';

import type { AuditLog } from '../audit/audit-log.js';
import type { LeafCache } from '../ca/leaf-cache.js';
import type { LoadedConfig } from '../config/load.js';
import type { GrantGate, Identity } from '../grants/gate.js';
import { KeyLimiter } from '../grants/limits.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { canonicalHost, parseHostPort, type HostPort } from '../util/hosts.js';
import { newRequestId } from '../util/ids.js';
import { stripQuery, type RequestContext, type TunnelInfo } from './context.js';
import { refuse } from './forward.js';
import { PROXY_AUTHENTICATE, serveThroughGate, type GrantFlowDeps } from './grant-flow.js';
import type { Interception } from './interception.js';
import { writeRawError } from './respond.js';
import { openBlindTunnel } from './tunnel.js';
import type { Upstream, UpstreamTarget } from './upstream.js';
import { forwardUpgrade } from './websocket.js';

/** The tunnel a TLS socket was opened inside, for the requests read from it. */
const TUNNEL = Symbol('grantd.tunnel');
type TunnelSocket = TLSSocket & { [TUNNEL]?: TunnelInfo };

export interface ProxyServerOptions {
  config: LoadedConfig;
  logger: Logger;
  leafCache: LeafCache;
  upstream: Upstream;
  interception: Interception;
  gate: GrantGate;
  audit: AuditLog;
  metrics?: Metrics;
}

/**
 * The forward proxy listener. Absolute-form requests are forwarded; CONNECT
 * either opens a blind tunnel or, for intercepted hosts, terminates TLS with a
 * leaf from the local CA and serves the HTTP/1.1 requests inside it from a
 * second, never-listening HTTP server.
 */
export class ProxyServer {
  readonly #options: ProxyServerOptions;
  readonly #log: Logger;
  readonly #outer: Server;
  readonly #inner: Server;
  readonly #flow: GrantFlowDeps;
  readonly #sockets = new Set<Duplex>();
  readonly #busy = new Map<Duplex, number>();
  #draining = false;
  #drained: (() => void) | undefined;
  #cutDrain: (() => void) | undefined;

  constructor(options: ProxyServerOptions) {
    this.#options = options;
    this.#log = options.logger;
    const perKey = options.config.limits.per_key;
    this.#flow = {
      gate: options.gate,
      limiter: new KeyLimiter({
        concurrency: perKey.concurrency,
        ratePerSecond: perKey.rate_per_s,
        burst: perKey.burst,
      }),
      audit: options.audit,
      upstream: options.upstream,
      auditRequired: options.config.audit.mode === 'required',
    };
    this.#outer = this.#createHttpServer();
    this.#inner = this.#createHttpServer();

    // Every tunnel holds one outer connection, so this caps tunnels as well.
    this.#outer.maxConnections = options.config.limits.max_connections;
    this.#outer.on('request', (req, res) => this.#onAbsoluteRequest(req, res));
    this.#outer.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#onConnect(req, socket, head).catch((error: unknown) => {
        this.#log.error({ err: error }, 'CONNECT handling failed');
        socket.destroy();
      });
    });
    this.#outer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onAbsoluteUpgrade(req, socket, head),
    );
    this.#inner.on('request', (req, res) => this.#onInterceptedRequest(req, res));
    this.#inner.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onInterceptedUpgrade(req, socket, head),
    );

    // The inner server never listens, but Node only enforces headersTimeout
    // for servers that did (the check is armed by 'listening'); arm it by hand.
    this.#inner.emit('listening');
  }

  /**
   * Swaps in grant decisions and interception built from a reloaded config.
   * Requests already in flight finish with what they started with.
   */
  reconfigure(parts: { gate: GrantGate; interception: Interception }): void {
    this.#options.gate = parts.gate;
    this.#options.interception = parts.interception;
    this.#flow.gate = parts.gate;
  }

  /** Ends a drain in progress now: whatever is still open is closed. */
  abortDrain(): void {
    this.#cutDrain?.();
  }

  async listen(address: HostPort): Promise<AddressInfo> {
    this.#outer.listen(address.port, address.host);
    await once(this.#outer, 'listening');
    return this.#outer.address() as AddressInfo;
  }

  get listening(): boolean {
    return this.#outer.listening && !this.#draining;
  }

  /**
   * Stops accepting, lets in-flight requests and tunnels finish for up to
   * `graceMs`, then closes whatever is left.
   */
  async close(graceMs: number): Promise<void> {
    this.#draining = true;
    const closed = new Promise<void>((resolve) => this.#outer.close(() => resolve()));
    this.#outer.closeIdleConnections();
    for (const socket of this.#sockets) if (!this.#busy.get(socket)) socket.destroy();

    if (this.#sockets.size > 0) {
      const drained = new Promise<void>((resolve) => (this.#drained = resolve));
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
        this.#cutDrain = resolve;
      });
      await Promise.race([drained, deadline]);
      clearTimeout(timer);
      for (const socket of this.#sockets) socket.destroy();
      this.#outer.closeAllConnections();
    }
    this.#inner.close(() => undefined);
    this.#options.upstream.close();
    await closed;
  }

  #createHttpServer(): Server {
    const { limits } = this.#options.config;
    const server = createServer({
      maxHeaderSize: limits.max_header_bytes,
      headersTimeout: limits.header_timeout_ms,
      // Bodies may stream for as long as they keep moving; `timeout` below
      // catches a stalled one.
      requestTimeout: 0,
      keepAliveTimeout: limits.keep_alive_timeout_ms,
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(limits.header_timeout_ms / 4)),
      noDelay: true,
    });
    server.timeout = limits.idle_timeout_ms;
    server.on('connection', (socket: Duplex) => this.#track(socket));
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) =>
      this.#onClientError(error, socket),
    );
    return server;
  }

  #track(socket: Duplex): void {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#busy.delete(socket);
      if (this.#draining && this.#sockets.size === 0) this.#drained?.();
    });
  }

  /** Counts a request on its socket, so draining knows which sockets are idle. */
  #begin(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    this.#busy.set(socket, (this.#busy.get(socket) ?? 0) + 1);
    if (this.#draining) res.shouldKeepAlive = false;
    res.once('close', () => {
      const left = (this.#busy.get(socket) ?? 1) - 1;
      this.#busy.set(socket, left);
      if (this.#draining && left === 0) socket.destroySoon();
    });
  }

  #context(req: IncomingMessage, target: UpstreamTarget, path: string): RequestContext {
    const id = newRequestId();
    return {
      id,
      startedAt: process.hrtime.bigint(),
      target,
      method: req.method ?? 'GET',
      pathForLog: stripQuery(path),
      log: this.#log,
      metrics: this.#options.metrics,
    };
  }

  #onAbsoluteRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#begin(req, res);
    const parsed = parseAbsoluteUrl(req.url ?? '');
    const placeholder: UpstreamTarget = { host: '-', port: 0, secure: false };
    if (!parsed) {
      const ctx = this.#context(req, placeholder, '/');
      const message = (req.url ?? '').startsWith('/')
        ? 'grantd is a forward proxy: send absolute-form requests (http://host/path) or CONNECT.'
        : 'The request target is not a valid absolute URL.';
      refuse(ctx, res, 'bad_request', { message });
      return;
    }
    const ctx = this.#context(req, parsed.target, parsed.path);
    if (!hostMatches(req, parsed.target)) {
      refuse(ctx, res, 'bad_request', {
        message: 'The Host header does not match the request URL.',
        close: true,
      });
      return;
    }
    req.url = parsed.path;
    this.#serve(ctx, req, res, this.#options.gate.identify(req.headers['proxy-authorization']));
  }

  #serve(ctx: RequestContext, req: IncomingMessage, res: ServerResponse, identity: Identity): void {
    const grantHeader = req.headers['grantd-grant'];
    void serveThroughGate(ctx, req, res, this.#flow, {
      identity,
      grantHeader: Array.isArray(grantHeader) ? grantHeader.join(', ') : grantHeader,
      method: ctx.method,
      host: ctx.target.host,
      secure: ctx.target.secure,
      path: req.url ?? '/',
    });
  }

  #onInterceptedRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#begin(req, res);
    const tunnel = (req.socket as TunnelSocket)[TUNNEL] as TunnelInfo;
    const target: UpstreamTarget = { host: tunnel.host, port: tunnel.port, secure: true };
    const path = req.url ?? '/';
    const ctx = this.#context(req, target, path);
    if (!path.startsWith('/')) {
      refuse(ctx, res, 'bad_request', {
        message:
          path === '*'
            ? 'grantd does not relay OPTIONS * (asterisk-form) requests.'
            : 'Inside a tunnel, send origin-form requests (/path).',
      });
      return;
    }
    if (!hostMatches(req, target)) {
      refuse(ctx, res, 'bad_request', {
        message: "The Host header does not match the tunnel's destination.",
        close: true,
      });
      return;
    }
    this.#serve(ctx, req, res, this.#options.gate.identify(tunnel.proxyAuthorization));
  }

  #onInterceptedUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const tunnel = (req.socket as TunnelSocket)[TUNNEL] as TunnelInfo;
    const target: UpstreamTarget = { host: tunnel.host, port: tunnel.port, secure: true };
    this.#upgrade(req, socket, head, target);
  }

  #onAbsoluteUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const parsed = parseAbsoluteUrl(req.url ?? '');
    if (!parsed) {
      writeRawError(socket, 'bad_request', newRequestId());
      return;
    }
    req.url = parsed.path;
    this.#upgrade(req, socket, head, parsed.target);
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: UpstreamTarget): void {
    const id = newRequestId();
    if (!hostMatches(req, target)) {
      writeRawError(socket, 'bad_request', id, {
        message: 'The Host header does not match the destination.',
      });
      return;
    }
    // Upgrades are relayed without injection; asking for a grant on one must
    // not quietly send the request without its credential.
    if (req.headers['grantd-grant'] !== undefined) {
      writeRawError(socket, 'bad_request', id, {
        message: 'A WebSocket upgrade cannot carry a grant.',
      });
      return;
    }
    forwardUpgrade(req, socket, head, {
      id,
      target,
      upstream: this.#options.upstream,
      idleTimeoutMs: this.#options.config.limits.idle_timeout_ms,
      log: this.#log,
    });
  }

  async #onConnect(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const id = newRequestId();
    socket.on('error', (error) =>
      this.#log.trace({ err: error, tunnel: id }, 'client socket error'),
    );
    // A CONNECT socket is never idle to the drain: a blind tunnel may carry a
    // request grantd cannot see, and an intercepted one closes with its TLS
    // socket, which is tracked on its own.
    this.#busy.set(socket, 1);
    const target = parseHostPort(req.url ?? '');
    if (!target || target.host === '' || target.port === 0) {
      this.#log.info({ tunnel: id, status: 400, outcome: 'bad_request' }, 'CONNECT refused');
      writeRawError(socket, 'bad_request', id, { message: 'CONNECT needs host:port.' });
      return;
    }
    if (this.#draining) {
      socket.destroy();
      return;
    }

    const { config, upstream, interception } = this.#options;
    if (!interception.covers(target.host)) {
      this.#countTunnel(socket, 'blind');
      await openBlindTunnel(socket, {
        id,
        target: { ...target, secure: false },
        head,
        upstream,
        connectTimeoutMs: config.upstream.connect_timeout_ms,
        idleTimeoutMs: config.limits.idle_timeout_ms,
        log: this.#log,
      });
      return;
    }
    const proxyAuthorization = req.headers['proxy-authorization'];
    if (!this.#options.gate.admits(this.#options.gate.identify(proxyAuthorization))) {
      this.#refuseConnect(socket, id, target);
      return;
    }
    await this.#intercept(socket, head, {
      id,
      host: target.host,
      port: target.port,
      proxyAuthorization,
    });
  }

  #countTunnel(socket: Duplex, kind: 'blind' | 'intercepted'): void {
    const gauge = this.#options.metrics?.openTunnels;
    if (!gauge) return;
    gauge.inc({ kind });
    socket.once('close', () => gauge.dec({ kind }));
  }

  /** A CONNECT to an intercepted host without a valid key: 407, audited. */
  #refuseConnect(socket: Duplex, id: string, target: HostPort): void {
    this.#log.info(
      { tunnel: id, host: target.host, status: 407, outcome: 'proxy_auth_required' },
      'CONNECT refused',
    );
    const record = {
      ts: Date.now(),
      requestId: id,
      app: undefined,
      keyId: undefined,
      grantId: undefined,
      provider: undefined,
      principal: undefined,
      method: 'CONNECT',
      host: target.host,
      path: '',
      status: 407,
      outcome: 'proxy_auth_required',
      refreshed: false,
      durationMs: 0,
      bytesIn: 0,
      bytesOut: 0,
    };
    if (!this.#flow.auditRequired) {
      this.#options.audit.record(record);
    } else {
      // `audit.mode: required`: the refusal is answered only once its row is committed.
      try {
        this.#options.audit.recordNow(record);
      } catch (error) {
        this.#log.error({ err: error, tunnel: id }, 'audit row not committed; refusing');
        writeRawError(socket, 'audit_unavailable', id);
        return;
      }
    }
    writeRawError(socket, 'proxy_auth_required', id, { headers: PROXY_AUTHENTICATE });
  }

  async #intercept(socket: Duplex, head: Buffer, tunnel: TunnelInfo): Promise<void> {
    const context = await this.#options.leafCache.contextFor(tunnel.host);
    if (socket.destroyed) return;
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);

    const tlsSocket: TunnelSocket = new TLSSocket(socket, {
      isServer: true,
      secureContext: context,
      ALPNProtocols: ['http/1.1'],
    });
    tlsSocket[TUNNEL] = tunnel;
    this.#countTunnel(tlsSocket, 'intercepted');
    const handshakeTimer = setTimeout(
      () => tlsSocket.destroy(),
      this.#options.config.limits.tls_handshake_timeout_ms,
    );
    tlsSocket.once('close', () => {
      clearTimeout(handshakeTimer);
      socket.destroy();
    });
    tlsSocket.on('error', (error) => {
      this.#log.debug(
        { err: error, tunnel: tunnel.id, host: tunnel.host },
        'intercepted TLS error',
      );
      tlsSocket.destroy();
    });
    tlsSocket.once('secure', () => {
      clearTimeout(handshakeTimer);
      this.#log.debug({ tunnel: tunnel.id, host: tunnel.host }, 'intercepted tunnel open');
      this.#inner.emit('connection', tlsSocket);
    });
  }

  #onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    const id = newRequestId();
    this.#log.debug({ err: error, reqId: id }, 'client sent a request grantd could not parse');
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      writeRawError(socket, 'bad_request', id, {
        status: 431,
        message: 'Request headers are too large.',
      });
    } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      writeRawError(socket, 'bad_request', id, {
        status: 408,
        message: 'The request headers took too long.',
      });
    } else {
      writeRawError(socket, 'bad_request', id);
    }
  }
}

/** Splits an absolute-form request target into where it goes and what path to send. */
function parseAbsoluteUrl(raw: string): { target: UpstreamTarget; path: string } | undefined {
  if (!/^(https?|wss?):\/\//i.test(raw)) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  const host = canonicalHost(url.hostname);
  if (!host || url.username || url.password) return undefined;
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  return { target: { host, port, secure }, path: `${url.pathname}${url.search}` };
}

/**
 * Whether the Host header names the destination: exactly one Host field, the
 * same canonical host, and the same port when it states one. A missing Host
 * (HTTP/1.0) is accepted. Two Host fields are refused: servers disagree on
 * which one counts (RFC 9112 section 3.2).
 */
function hostMatches(req: IncomingMessage, target: HostPort): boolean {
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if ((req.rawHeaders[i] as string).toLowerCase() === 'host') count += 1;
  }
  if (count > 1) return false;
  const hostHeader = req.headers.host;
  if (hostHeader === undefined) return true;
  // Most clients send the name as it was asked for: no need to parse it.
  if (hostHeader === target.host || hostHeader === `${target.host}:${target.port}`) return true;
  const parsed = parseHostPort(hostHeader, target.port);
  return parsed !== undefined && parsed.host === target.host && parsed.port === target.port;
}
