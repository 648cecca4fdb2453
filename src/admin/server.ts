import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Logger } from '../log/logger.js';
import type { HostPort } from '../util/hosts.js';

export type MetricsRenderer = () => Promise<{ contentType: string; text: string }>;

/** One readiness condition: a name for the report and a check that throws or returns false. */
export interface ReadinessCheck {
  name: string;
  check: () => boolean;
}

/**
 * The admin listener: liveness and readiness for supervisors and Kubernetes
 * probes. `/healthz` only says the process answers; `/readyz` runs every check.
 */
export class AdminServer {
  readonly #server: Server;
  readonly #checks: ReadinessCheck[];
  readonly #log: Logger;

  readonly #metrics: MetricsRenderer | undefined;
  readonly #fallback: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  constructor({
    checks,
    logger,
    metrics,
    fallback,
  }: {
    checks: ReadinessCheck[];
    logger: Logger;
    /** Renders `/metrics` in the Prometheus text format. */
    metrics?: MetricsRenderer;
    /** Serves every other path (the local portal); 404 when absent. */
    fallback?: (req: IncomingMessage, res: ServerResponse) => void;
  }) {
    this.#checks = checks;
    this.#log = logger;
    this.#metrics = metrics;
    this.#fallback = fallback;
    this.#server = createServer({ headersTimeout: 5_000, requestTimeout: 10_000 }, (req, res) =>
      this.#handle(req, res),
    );
  }

  async listen(address: HostPort): Promise<AddressInfo> {
    this.#server.listen(address.port, address.host);
    await once(this.#server, 'listening');
    return this.#server.address() as AddressInfo;
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const probe = path === '/healthz' || path === '/readyz' || path === '/metrics';
    if (!probe && this.#fallback) return this.#fallback(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return json(res, 405, { error: { code: 'method_not_allowed', message: 'Use GET.' } });
    }
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') return this.#ready(res);
    if (path === '/metrics' && this.#metrics) return void this.#serveMetrics(res, this.#metrics);
    json(res, 404, { error: { code: 'not_found', message: `No route ${path}.` } });
  }

  async #serveMetrics(res: ServerResponse, render: MetricsRenderer): Promise<void> {
    try {
      const { contentType, text } = await render();
      res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
      res.end(text);
    } catch (error) {
      this.#log.error({ err: error }, 'metrics could not be rendered');
      json(res, 500, { error: { code: 'internal_error', message: 'Metrics failed.' } });
    }
  }

  #ready(res: ServerResponse): void {
    const failing: string[] = [];
    for (const { name, check } of this.#checks) {
      try {
        if (!check()) failing.push(name);
      } catch (error) {
        this.#log.warn({ err: error, check: name }, 'readiness check threw');
        failing.push(name);
      }
    }
    if (failing.length === 0) return json(res, 200, { status: 'ready' });
    json(res, 503, { status: 'not_ready', failing });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}
