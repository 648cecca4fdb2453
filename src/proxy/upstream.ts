import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { lookup as dnsLookup } from 'node:dns';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import {
  checkServerIdentity,
  connect as tlsConnect,
  createSecureContext,
  type PeerCertificate,
  type SecureContext,
} from 'node:tls';

import type { buildConnector, Dispatcher } from 'undici';

import type { LoadedConfig } from '../config/load.js';
import { readRoots, systemRoots } from '../ca/trust.js';
import type { ErrorCode } from '../errors.js';
import { canonicalHost, type HostPort } from '../util/hosts.js';
import { destinationRefused, EgressGuard } from './egress-guard.js';
import { Agent } from './undici-agent.js';

/** Where a request goes, as the client named it. */
export interface UpstreamTarget {
  /** Canonical host name or IP: used for SNI, certificate checks and `resolve:`. */
  host: string;
  port: number;
  secure: boolean;
}

export interface UpstreamRequest {
  method: string;
  path: string;
  /** Raw header list, already filtered for forwarding. */
  headers: string[];
}

/** A proxied request for {@link Upstream.dispatch}: the head, and the body if there is one. */
export interface DispatchRequest extends UpstreamRequest {
  body: Buffer | Readable | null;
}

/** TLS sessions kept for resuming upstream handshakes; one per origin, newest wins. */
const SESSION_CACHE_LIMIT = 1_000;

/**
 * Connections to upstream servers: one keep-alive pool per origin, one TLS
 * context with the system roots plus `upstream.ca_file` (read at start, built
 * once), and `resolve:` overrides applied before any connect.
 *
 * Proxied requests go through undici's pools ({@link dispatch}), which cost
 * about a third of the CPU per request of node:http's client (`npm run bench`);
 * WebSocket upgrades and grantd's own OAuth calls use node:http
 * ({@link request}).
 */
export class Upstream {
  readonly #resolve: ReadonlyMap<string, HostPort>;
  readonly #roots: string[];
  #context: SecureContext | undefined;
  readonly #httpsAgent: HttpsAgent;
  readonly #httpAgent: HttpAgent;
  // Requests that carry a credential get their own pool, whose sockets were
  // all opened to addresses the egress guard checked: a socket opened for a
  // plain pass-through request is never reused to send a token.
  readonly #guardedAgent: HttpsAgent;
  readonly #guardedHttpAgent: HttpAgent;
  readonly #guard: EgressGuard;
  readonly #guardedLookup: ReturnType<EgressGuard['lookup']>;
  readonly #resolvedHosts: ReadonlySet<string>;
  readonly #verdicts = new Map<string, NodeJS.ErrnoException | null>();
  readonly #timeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #pool: Agent;
  // As with the node:http agents: credentialed requests never share a socket
  // with pass-through ones.
  readonly #guardedPool: Agent;
  readonly #sessions = new Map<string, Buffer>();

  /** `resolve` replaces the system resolver behind the egress guard (tests). */
  constructor(config: LoadedConfig, options: { resolve?: typeof dnsLookup } = {}) {
    // Read now, so a bad ca_file stops the start; parsed into a context on
    // first use or by warm(), which keeps ~30 ms off the way to readiness.
    this.#roots = systemRoots();
    if (config.upstream.ca_file) this.#roots.push(...readRoots(config.upstream.ca_file));
    this.#resolve = config.resolveMap;
    this.#timeoutMs = config.upstream.timeout_ms;
    this.#connectTimeoutMs = config.upstream.connect_timeout_ms;
    const poolOptions = {
      keepAlive: true,
      maxSockets: config.upstream.max_sockets_per_origin,
      maxFreeSockets: 64,
      // Drop idle upstream sockets before typical servers do (often 60 s+),
      // so a reused socket is rarely one the server is closing.
      timeout: 30_000,
      scheduling: 'lifo' as const,
    };
    this.#httpsAgent = new HttpsAgent(poolOptions);
    this.#httpAgent = new HttpAgent(poolOptions);
    this.#guardedAgent = new HttpsAgent(poolOptions);
    this.#guardedHttpAgent = new HttpAgent(poolOptions);
    this.#guard = new EgressGuard(config.egress.allow, options.resolve);
    this.#guardedLookup = this.#guard.lookup();
    this.#resolvedHosts = new Set(config.resolveMap.keys());

    const dispatchOptions = {
      connections: config.upstream.max_sockets_per_origin,
      pipelining: 1,
      // upstream.timeout_ms bounds silence: waiting for the head, or between body chunks.
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 30_000,
    };
    this.#pool = new Agent({ ...dispatchOptions, connect: this.#connector(false) });
    this.#guardedPool = new Agent({ ...dispatchOptions, connect: this.#connector(true) });
  }

  /**
   * Sends a request through the keep-alive pool for its origin. The handler
   * hears of the response head, each body chunk, the end or an error; errors
   * carry node:net, TLS or undici codes that {@link classifyUpstreamError}
   * understands.
   */
  dispatch(
    target: UpstreamTarget,
    req: DispatchRequest,
    handler: Dispatcher.DispatchHandler,
    options: { guarded?: boolean } = {},
  ): void {
    // Cleartext credentials (providers with allow_cleartext) are guarded too.
    const pool = options.guarded ? this.#guardedPool : this.#pool;
    pool.dispatch(
      {
        origin: originOf(target),
        method: req.method,
        path: req.path,
        headers: req.headers,
        body: req.body,
      },
      handler,
    );
  }

  /**
   * Opens connections for the undici pools: to the `resolve:` address or
   * through the egress guard's lookup, verified against the name the client
   * asked for, with the connect timeout and TLS session resumption.
   */
  #connector(guarded: boolean): buildConnector.connector {
    return (options, callback) => {
      const secure = options.protocol === 'https:';
      // The same spelling refusal() and the resolve: map use (brackets off).
      const host = canonicalHost(options.hostname);
      if (host === undefined) {
        callback(new Error(`not a host: ${options.hostname}`), null);
        return;
      }
      const target: UpstreamTarget = {
        host,
        port: Number(options.port) || (secure ? 443 : 80),
        secure,
      };
      const address = this.connectAddress(target);
      const origin = `${target.host}:${target.port}`;
      const lookup = guarded ? this.#guardedLookup : undefined;
      let context: SecureContext | undefined;
      try {
        if (secure) context = this.#secureContext;
      } catch (error) {
        callback(error as Error, null);
        return;
      }
      const socket: Socket = secure
        ? tlsConnect({
            host: address.host,
            port: address.port,
            secureContext: context,
            ...(isIP(target.host) ? {} : { servername: target.host }),
            checkServerIdentity: (_name: string, cert: PeerCertificate) =>
              checkServerIdentity(target.host, cert),
            ALPNProtocols: ['http/1.1'],
            session: this.#sessions.get(origin),
            ...(lookup ? { lookup } : {}),
          })
        : netConnect({ host: address.host, port: address.port, ...(lookup ? { lookup } : {}) });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 60_000);
      if (secure) {
        socket.on('session', (session: Buffer) => {
          if (this.#sessions.size >= SESSION_CACHE_LIMIT) this.#sessions.clear();
          this.#sessions.set(origin, session);
        });
      }

      let settled = false;
      const settle = (error: Error | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.removeListener('error', settle);
        if (error) {
          socket.destroy();
          callback(error, null);
        } else {
          callback(null, socket);
        }
      };
      let timer = setTimeout(
        () => settle(timeoutError('connect timed out (upstream.connect_timeout_ms)', 'ETIMEDOUT')),
        this.#connectTimeoutMs,
      );
      if (secure) {
        // A server that accepts but never completes the handshake is silent,
        // not unreachable: upstream.timeout_ms applies from here.
        socket.once('connect', () => {
          clearTimeout(timer);
          timer = setTimeout(
            () => settle(timeoutError('no TLS handshake within upstream.timeout_ms')),
            this.#timeoutMs,
          );
        });
      }
      socket.once(secure ? 'secureConnect' : 'connect', () => settle(null));
      socket.once('error', settle);
    };
  }

  /** The one TLS context for upstream connections: the roots, TLS 1.2 at least. */
  get #secureContext(): SecureContext {
    this.#context ??= createSecureContext({ ca: this.#roots, minVersion: 'TLSv1.2' });
    return this.#context;
  }

  /** Builds the TLS context ahead of the first request; the daemon calls it once listening. */
  warm(): void {
    void this.#secureContext;
  }

  /**
   * Why a credential must not go to this target, checked before connecting:
   * an IP literal or a `resolve:` address that the egress guard refuses.
   * Names are checked at DNS time by the guarded lookup instead.
   */
  refusal(target: Pick<UpstreamTarget, 'host' | 'port'>): NodeJS.ErrnoException | undefined {
    // The verdict depends on the config and the target alone: computed once.
    const key = `${target.host}:${target.port}`;
    if (this.#verdicts.has(key)) return this.#verdicts.get(key) ?? undefined;
    const refused = this.#judge(target);
    if (this.#verdicts.size >= 10_000) this.#verdicts.clear();
    this.#verdicts.set(key, refused ?? null);
    return refused;
  }

  #judge(target: Pick<UpstreamTarget, 'host' | 'port'>): NodeJS.ErrnoException | undefined {
    const address = this.connectAddress(target);
    if (isIP(address.host) === 0) return undefined;
    const verdict = this.#guard.judge(address.host);
    if (verdict === 'ok') return undefined;
    // A `resolve:` entry is the user's explicit choice, except for metadata.
    if (verdict === 'private' && this.#resolvedHosts.has(`${target.host}:${target.port}`)) {
      return undefined;
    }
    return destinationRefused(target.host, verdict);
  }

  /** The address to connect to for a target: a `resolve:` entry, or the target itself. */
  connectAddress(target: Pick<UpstreamTarget, 'host' | 'port'>): HostPort {
    return this.#resolve.get(`${target.host}:${target.port}`) ?? target;
  }

  /**
   * Starts a request upstream. Errors and timeouts arrive as the request's
   * 'error' event, with `code` set for timeouts to `GRANTD_UPSTREAM_TIMEOUT`.
   */
  request(
    target: UpstreamTarget,
    req: UpstreamRequest,
    options: { guarded?: boolean } = {},
  ): ClientRequest {
    const address = this.connectAddress(target);
    const common = {
      host: address.host,
      port: address.port,
      method: req.method,
      path: req.path,
      headers: req.headers as unknown as OutgoingHttpHeaders,
      setHost: false,
    };
    // The certificate is checked against the name the client asked for, so a
    // `resolve:` entry changes where grantd connects, never which name the
    // certificate must carry. IP targets get no SNI (RFC 6066 section 3).
    const client = target.secure
      ? httpsRequest({
          ...common,
          ...(options.guarded
            ? { agent: this.#guardedAgent, lookup: this.#guardedLookup }
            : { agent: this.#httpsAgent }),
          secureContext: this.#secureContext,
          servername: isIP(target.host) ? '' : target.host,
          checkServerIdentity: (_address: string, cert: PeerCertificate) =>
            checkServerIdentity(target.host, cert),
        } as unknown as RequestOptions)
      : httpRequest({
          ...common,
          ...(options.guarded
            ? { agent: this.#guardedHttpAgent, lookup: this.#guardedLookup }
            : { agent: this.#httpAgent }),
        });
    this.#armTimeouts(client, target.secure);
    return client;
  }

  /** Closes pooled sockets; in-flight requests keep theirs. */
  close(): void {
    this.#httpsAgent.destroy();
    this.#httpAgent.destroy();
    this.#guardedAgent.destroy();
    this.#guardedHttpAgent.destroy();
    void this.#pool.destroy().catch(() => undefined);
    void this.#guardedPool.destroy().catch(() => undefined);
  }

  #armTimeouts(client: ClientRequest, secure: boolean): void {
    client.setTimeout(this.#timeoutMs, () => {
      client.destroy(timeoutError('no data from the upstream within upstream.timeout_ms'));
    });
    client.once('socket', (socket: Socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => {
        client.destroy(
          timeoutError('connect timed out (upstream.connect_timeout_ms)', 'ETIMEDOUT'),
        );
      }, this.#connectTimeoutMs);
      socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
  }
}

/** The origin undici keys its pools by; IPv6 literals go in brackets. */
function originOf(target: UpstreamTarget): string {
  const host = isIP(target.host) === 6 ? `[${target.host}]` : target.host;
  return `${target.secure ? 'https' : 'http'}://${host}:${target.port}`;
}

function timeoutError(message: string, code = 'GRANTD_UPSTREAM_TIMEOUT'): Error {
  return Object.assign(new Error(message), { code });
}

/** Silence from a connected upstream: grantd's own timer, or undici's head and body timers. */
const UPSTREAM_TIMEOUT_CODES = new Set([
  'GRANTD_UPSTREAM_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Reduces a failure talking to the upstream to one of grantd's error codes.
 * A connect timeout counts as unreachable; silence after connecting, as a
 * timeout.
 */
export function classifyUpstreamError(error: unknown): ErrorCode {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (UPSTREAM_TIMEOUT_CODES.has(code)) return 'upstream_timeout';
  // undici refused to send the request as the client wrote it.
  if (code === 'UND_ERR_INVALID_ARG') return 'bad_request';
  if (code === 'GRANTD_DESTINATION_REFUSED') return 'destination_refused';
  if (TLS_VERIFY_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return 'upstream_tls_error';
  }
  return 'upstream_unreachable';
}
