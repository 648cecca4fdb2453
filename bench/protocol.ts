/**
 * The messages the orchestrator and its child processes (upstream, load
 * generator, micro figures) exchange over Node's IPC channel. Plain JSON
 * objects, so every side agrees on them at compile time and nothing else.
 */

/** Which HTTP client the load generator drives. */
export type ClientKind = 'node' | 'undici';

/** How one load run reaches the upstream. */
export type RouteMode = 'direct' | 'grantd';

/** What a load generator child is asked to do. */
export interface LoadSpec {
  client: ClientKind;
  mode: RouteMode;
  /** Where TLS goes: the upstream itself when direct, the name grantd resolves otherwise. */
  host: string;
  port: number;
  /** SNI and certificate name to verify. */
  servername: string;
  /** The only CA the client trusts: the bench CA, or grantd's CA for intercepted hosts. */
  caFile: string;
  /** Present when the run goes through grantd. */
  proxy?: { url: string; authorization: string };
  path: string;
  headers: Record<string, string>;
  concurrency: number;
  /** Measured requests. */
  requests: number;
  /** Requests sent and thrown away before measuring (opens the pool, warms the JIT). */
  warmup: number;
  /** A run stops early once this much time has gone, so a slow path cannot stall the suite. */
  timeCapMs: number;
  /** A fresh connection (CONNECT and TLS handshake) for every request. */
  newConnection: boolean;
  /** Pooled connections, when fewer than `concurrency` (the storm); else one per worker. */
  connections?: number;
  /** Requests in flight per connection (undici only); 1 unless set. */
  pipelining?: number;
  /** Headers for the warm-up requests, when they must differ from the measured ones. */
  warmupHeaders?: Record<string, string>;
}

/** What a load run measured. */
export interface LoadResult {
  /** Measured requests that completed (answered or failed). */
  requests: number;
  ok: number;
  /** Count per status code, and `error` for requests that got no response. */
  statuses: Record<string, number>;
  firstError: string | undefined;
  /** Requests sent in total, warm-up included, for the upstream's counters. */
  sent: number;
  durationMs: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Response body bytes read during the measured phase. */
  bytes: number;
  /** The load generator's own CPU time per measured request, to compare clients. */
  clientCpuUsPerRequest: number;
  /** True when the time cap ended the run before every request was sent. */
  capped: boolean;
}

/** Load generator to orchestrator. */
export type LoadMessage =
  { type: 'warm' } | { type: 'result'; result: LoadResult } | { type: 'failed'; message: string };

/** Orchestrator to load generator. */
export type LoadCommand = { type: 'run'; spec: LoadSpec } | { type: 'go' };

/** What the upstream saw, counted since it started. */
export interface UpstreamCounters {
  total: number;
  /** TLS connections accepted: shows whether grantd reuses its upstream connections. */
  connections: number;
  /** Requests carrying exactly the expected `Authorization` value. */
  authorized: number;
  /** Requests carrying some other `Authorization` value. */
  wrongAuthorization: number;
  /** Requests carrying `Grantd-Grant`, `Proxy-Authorization` or `Proxy-Connection`. */
  leakedProxyHeaders: number;
  /** POSTs to the OAuth token endpoint, answered or not (grantd's own; not in `total`). */
  tokenRequests: number;
  /** Requests to the OAuth API host carrying the access token the endpoint issued last. */
  oauthAuthorized: number;
  /** Requests to the OAuth API host carrying any other `Authorization` (answered 401). */
  oauthRefused: number;
}

/** Upstream to orchestrator. */
export type UpstreamMessage =
  { type: 'ready'; port: number } | { type: 'counters'; counters: UpstreamCounters };

/** Orchestrator to upstream. */
export type UpstreamCommand = { type: 'counters' };

/** How the upstream child is configured, passed as JSON in its environment. */
export interface UpstreamSpec {
  certFile: string;
  keyFile: string;
  /** The `Authorization` value an injected request must carry. */
  expectedAuthorization: string;
  oauth: UpstreamOAuthSpec;
}

/** The fake OAuth provider the refresh storm runs against, served by the upstream. */
export interface UpstreamOAuthSpec {
  /** Host of the token endpoint (`POST /token`). */
  tokenHost: string;
  /** Host of the API, which takes only the access token issued last. */
  apiHost: string;
  clientId: string;
  clientSecret: string;
  /** The refresh token the grant was imported with; any other is `invalid_grant`. */
  refreshToken: string;
  /** The token endpoint answers after this long, so waiting requests pile up. */
  delayMs: number;
}

/** One micro figure. */
export interface MicroFigure {
  name: string;
  count: number;
  durationMs: number;
  perSecond: number;
  /** The process's CPU time (user + system) per item, where that is the figure that matters. */
  cpuUsPerItem?: number;
  note: string;
}

/** Micro child to orchestrator. */
export type MicroMessage =
  { type: 'micro'; figures: MicroFigure[] } | { type: 'failed'; message: string };

/** The small answer, about 100 bytes of JSON like a typical API reply. */
export const SMALL_BODY = JSON.stringify({
  ok: true,
  id: 'req_0123456789abcdef',
  items: [1, 2, 3],
  note: 'grantd bench payload of about 100 bytes',
});

/** The upstream's routes and body sizes. */
export const SMALL_PATH = '/small';
export const LARGE_PATH = '/large';
export const STREAM_PATH = '/stream';
export const TOKEN_PATH = '/token';
export const LARGE_BYTES = 64 * 1024;
