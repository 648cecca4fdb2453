import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { UpstreamTarget } from './upstream.js';

/** What grantd knows about one proxied request while it is in flight. */
export interface RequestContext {
  id: string;
  /** `process.hrtime.bigint()` when the request arrived. */
  startedAt: bigint;
  target: UpstreamTarget;
  method: string;
  /** The path without its query string: the query may carry secrets. */
  pathForLog: string;
  log: Logger;
  /** Names (never secrets) added to the request's log line: app, grant, provider. */
  logFields?: Record<string, string | undefined>;
  metrics?: Metrics | undefined;
}

/** What a CONNECT established, attached to the TLS socket grantd serves inside it. */
export interface TunnelInfo {
  id: string;
  host: string;
  port: number;
  /**
   * The CONNECT's `Proxy-Authorization`, kept in memory only so each request
   * inside the tunnel checks the key again: a key revoked mid-tunnel stops
   * working on the next request.
   */
  proxyAuthorization: string | undefined;
}

/** Milliseconds since `startedAt`, to a tenth. */
export function elapsedMs(startedAt: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - startedAt) / 100_000) / 10;
}

export function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}
