import { SMALL_PATH, type LoadSpec } from '../protocol.js';
import { HOSTS } from './grantd.js';
import { BenchFailure, measureSpec, type Bench } from './measure.js';
import { SMALL_BYTES } from './scenarios.js';

/** Requests that arrive together while the grant's access token is expired. */
export const STORM_REQUESTS = 1_000;

/** Keep-alive tunnels the requests share, as many as the widest scenario opens. */
const STORM_CONNECTIONS = 64;

/** How long the token endpoint takes over the refresh, so the requests pile up behind it. */
export const STORM_REFRESH_DELAY_MS = 50;

/** The refresh storm: many requests, one expired OAuth token, one refresh. */
export interface StormResult {
  requests: number;
  connections: number;
  /** Requests in flight per connection: enough that every request is sent at once. */
  pipelining: number;
  refreshDelayMs: number;
  /** POSTs the token endpoint received during the storm; the check wants exactly 1. */
  refreshes: number;
  p50Ms: number;
  p99Ms: number;
  /** First request sent to last response read. */
  wallMs: number;
  /** grantd's CPU over the storm, refresh included, per request. */
  grantdCpuUsPerRequest: number;
  /** TLS connections the upstream accepted, warm-up and token endpoint included. */
  upstreamConnections: number;
  /**
   * Storm requests whose audit row says `refreshed`: those that shared the
   * one refresh rather than finding the new token already stored. Read from
   * the audit table once grantd has stopped.
   */
  sharedRefresh?: number;
}

/**
 * Sends STORM_REQUESTS injected requests at once through grantd for the
 * OAuth grant imported with an expired access token, and checks that grantd
 * refreshed exactly once, that every request got a 200 and that the API saw
 * only the freshly issued token. undici is used whatever the other rows
 * chose: only it pipelines, which puts every request on the wire before the
 * refresh answers without a thousand CONNECTs and handshakes (the proxy
 * client makes its CONNECTs one at a time). The warm-up sends the same
 * number of untagged requests on the same tunnels, which grantd passes
 * through without touching the grant, so the connections (and grantd's
 * upstream pool) are open and the token is still expired when the storm
 * begins.
 */
export async function runStorm(bench: Bench): Promise<StormResult> {
  const { key, oauthGrantId, grantdCaFile } = bench.credentials;
  const pipelining = Math.ceil(STORM_REQUESTS / STORM_CONNECTIONS);
  const spec: LoadSpec = {
    client: 'undici',
    mode: 'grantd',
    host: HOSTS.oauthApi,
    port: 443,
    servername: HOSTS.oauthApi,
    caFile: grantdCaFile,
    proxy: {
      url: bench.grantd.proxyUrl,
      authorization: `Basic ${Buffer.from(`bench:${key}`).toString('base64')}`,
    },
    path: SMALL_PATH,
    headers: { 'grantd-grant': oauthGrantId },
    warmupHeaders: {},
    concurrency: STORM_REQUESTS,
    connections: STORM_CONNECTIONS,
    pipelining,
    requests: STORM_REQUESTS,
    warmup: STORM_REQUESTS,
    timeCapMs: 30_000,
    newConnection: false,
  };
  const { result, upstream, grantdCpuUsPerRequest } = await measureSpec(bench, spec, 'storm');
  bench.stormThroughGrantd += result.requests;

  const fail = (why: string): never => {
    throw new BenchFailure(`storm: ${why}`);
  };
  if (upstream.tokenRequests !== 1) {
    fail(
      `the token endpoint received ${upstream.tokenRequests} refresh requests for ` +
        `${result.requests} requests waiting on one expired access token; expected exactly 1`,
    );
  }
  if (result.ok !== STORM_REQUESTS) {
    fail(
      `${STORM_REQUESTS - result.ok} of ${STORM_REQUESTS} responses were not 200 ` +
        `(statuses ${JSON.stringify(result.statuses)}; first error: ${result.firstError ?? 'none'})`,
    );
  }
  if (result.bytes !== result.ok * SMALL_BYTES) {
    fail(`read ${result.bytes} body bytes, expected ${result.ok} x ${SMALL_BYTES}`);
  }
  if (upstream.total !== result.sent) {
    fail(`the upstream saw ${upstream.total} requests, the client sent ${result.sent}`);
  }
  if (upstream.oauthAuthorized !== result.requests || upstream.oauthRefused > 0) {
    fail(
      `${upstream.oauthAuthorized} of ${result.requests} requests reached the API with the ` +
        `freshly issued access token, ${upstream.oauthRefused} with another one`,
    );
  }
  if (upstream.leakedProxyHeaders > 0) {
    fail(`${upstream.leakedProxyHeaders} requests reached the upstream with a proxy header`);
  }
  return {
    requests: result.requests,
    connections: STORM_CONNECTIONS,
    pipelining,
    refreshDelayMs: STORM_REFRESH_DELAY_MS,
    refreshes: upstream.tokenRequests,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    wallMs: result.durationMs,
    grantdCpuUsPerRequest: grantdCpuUsPerRequest ?? 0,
    upstreamConnections: upstream.connections,
  };
}
