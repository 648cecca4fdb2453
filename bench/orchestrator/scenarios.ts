import { LARGE_BYTES, LARGE_PATH, SMALL_BODY, SMALL_PATH } from '../protocol.js';
import { HOSTS, type AuditMode } from './grantd.js';

/** The paths grantd can take, from cheapest to dearest. */
export type ScenarioId =
  'tunnel' | 'intercept' | 'inject' | 'inject-64k' | 'inject-new-conn' | 'inject-required';

/** One scenario, run at each of its concurrencies, direct and through grantd. */
export interface Scenario {
  id: ScenarioId;
  /** What the row means, for the report. */
  title: string;
  host: string;
  path: string;
  /** Body bytes every response must carry. */
  bodyBytes: number;
  /** Whether the upstream must see the grant's Authorization on every request. */
  injects: boolean;
  /** Whether clients trust grantd's CA (it terminates TLS) rather than the bench CA. */
  intercepted: boolean;
  newConnection: boolean;
  /** The `audit.mode` grantd runs with: `required` rows run on a grantd restarted with it. */
  audit: AuditMode;
  concurrencies: number[];
  /** Measured requests at a concurrency, full run. */
  requests(concurrency: number): number;
}

/** The small JSON answer's size, as the upstream sends it. */
export const SMALL_BYTES = Buffer.byteLength(SMALL_BODY);

export const SCENARIOS: Scenario[] = [
  {
    id: 'tunnel',
    title: 'blind CONNECT tunnel (host not intercepted)',
    host: HOSTS.tunnel,
    path: SMALL_PATH,
    bodyBytes: SMALL_BYTES,
    injects: false,
    intercepted: false,
    newConnection: false,
    audit: 'best_effort',
    concurrencies: [1, 16, 64],
    requests: (c) => (c === 1 ? 3_000 : 10_000),
  },
  {
    id: 'intercept',
    title: 'intercepted, no grant (TLS terminated, passed through)',
    host: HOSTS.intercept,
    path: SMALL_PATH,
    bodyBytes: SMALL_BYTES,
    injects: false,
    intercepted: true,
    newConnection: false,
    audit: 'best_effort',
    concurrencies: [1, 16, 64],
    requests: (c) => (c === 1 ? 3_000 : 10_000),
  },
  {
    id: 'inject',
    title: 'injected: Grantd-Grant header, key as proxy password, audit row',
    host: HOSTS.inject,
    path: SMALL_PATH,
    bodyBytes: SMALL_BYTES,
    injects: true,
    intercepted: true,
    newConnection: false,
    audit: 'best_effort',
    concurrencies: [1, 16, 64],
    requests: (c) => (c === 1 ? 3_000 : 10_000),
  },
  {
    id: 'inject-64k',
    title: 'injected, 64 KiB response',
    host: HOSTS.inject,
    path: LARGE_PATH,
    bodyBytes: LARGE_BYTES,
    injects: true,
    intercepted: true,
    newConnection: false,
    audit: 'best_effort',
    concurrencies: [1, 16, 64],
    requests: (c) => (c === 1 ? 1_500 : 4_000),
  },
  {
    id: 'inject-new-conn',
    title: 'injected, new connection per request (CONNECT + full TLS handshake)',
    host: HOSTS.inject,
    path: SMALL_PATH,
    bodyBytes: SMALL_BYTES,
    injects: true,
    intercepted: true,
    newConnection: true,
    audit: 'best_effort',
    concurrencies: [1, 16],
    requests: (c) => (c === 1 ? 800 : 2_000),
  },
  {
    id: 'inject-required',
    title: 'injected, `audit.mode: required` (each audit row committed before the answer)',
    host: HOSTS.inject,
    path: SMALL_PATH,
    bodyBytes: SMALL_BYTES,
    injects: true,
    intercepted: true,
    newConnection: false,
    audit: 'required',
    concurrencies: [16],
    requests: () => 10_000,
  },
];

/** Measured requests for a row: the full count, or a few hundred in a quick run. */
export function requestCount(scenario: Scenario, concurrency: number, quick: boolean): number {
  if (!quick) return scenario.requests(concurrency);
  return scenario.newConnection ? 150 : 300;
}

/** Warm-up: enough to open every pooled connection and let the JIT settle. */
export function warmupCount(scenario: Scenario, concurrency: number, quick: boolean): number {
  const base = scenario.newConnection ? 4 * concurrency : 20 * concurrency;
  return Math.min(quick ? 100 : 1_000, Math.max(quick ? 20 : 200, base));
}
