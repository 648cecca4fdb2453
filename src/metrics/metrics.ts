import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { AuditLog } from '../audit/audit-log.js';
import type { LeafCache } from '../ca/leaf-cache.js';

/** Status classes, so a label never takes more than six values. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none';
}

/**
 * The daemon's Prometheus metrics. Every label takes values from a closed
 * set: provider ids from the catalog and config, grantd's outcome codes,
 * status classes. Never a host from the outside, a grant id or a path.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'provider' | 'outcome' | 'status_class'>;
  readonly requestSeconds: Histogram<'provider'>;
  readonly upstreamSeconds: Histogram<'provider'>;
  readonly refreshes: Counter<'provider' | 'result'>;
  readonly openTunnels: Gauge<'kind'>;
  readonly vaultErrors: Counter;

  constructor(sources: { leafCache: LeafCache; audit: AuditLog }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'grantd_' });
    this.requests = new Counter({
      name: 'grantd_requests_total',
      help: 'Proxied requests by provider (none without a grant), outcome and status class.',
      labelNames: ['provider', 'outcome', 'status_class'],
      registers,
    });
    const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    this.requestSeconds = new Histogram({
      name: 'grantd_request_duration_seconds',
      help: 'Time from a request arriving to its response ending.',
      labelNames: ['provider'],
      buckets,
      registers,
    });
    this.upstreamSeconds = new Histogram({
      name: 'grantd_upstream_response_seconds',
      help: "Time from a request arriving to the upstream's response head.",
      labelNames: ['provider'],
      buckets,
      registers,
    });
    this.refreshes = new Counter({
      name: 'grantd_token_refreshes_total',
      help: 'OAuth token refreshes by provider and result (ok, needs_reauth, failed).',
      labelNames: ['provider', 'result'],
      registers,
    });
    this.openTunnels = new Gauge({
      name: 'grantd_open_tunnels',
      help: 'Open CONNECT tunnels: blind, or intercepted (TLS terminated by grantd).',
      labelNames: ['kind'],
      registers,
    });
    this.vaultErrors = new Counter({
      name: 'grantd_vault_errors_total',
      help: 'Requests refused because the vault could not be read.',
      registers,
    });
    new Counter({
      name: 'grantd_leaf_certificates_minted_total',
      help: 'Leaf certificates minted by the local CA since start.',
      registers,
      collect() {
        this.reset();
        this.inc(sources.leafCache.stats().minted);
      },
    });
    new Gauge({
      name: 'grantd_leaf_certificates_cached',
      help: 'Leaf certificates held in memory.',
      registers,
      collect() {
        this.set(sources.leafCache.stats().cached);
      },
    });
    new Counter({
      name: 'grantd_audit_rows_written_total',
      help: 'Audit rows committed to SQLite since start.',
      registers,
      collect() {
        this.reset();
        this.inc(sources.audit.stats.written);
      },
    });
    new Counter({
      name: 'grantd_audit_rows_dropped_total',
      help: 'Audit rows dropped because the database refused writes for too long.',
      registers,
      collect() {
        this.reset();
        this.inc(sources.audit.stats.dropped);
      },
    });
    new Gauge({
      name: 'grantd_audit_rows_pending',
      help: 'Audit rows queued in memory, not yet committed.',
      registers,
      collect() {
        this.set(sources.audit.stats.pending);
      },
    });
  }

  /** Records a finished request. */
  observe(provider: string | undefined, outcome: string, status: number, ms: number): void {
    const label = provider ?? 'none';
    this.requests.inc({ provider: label, outcome, status_class: statusClass(status) });
    this.requestSeconds.observe({ provider: label }, ms / 1000);
  }
}
