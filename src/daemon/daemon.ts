import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

import { AdminServer } from '../admin/server.js';
import { AuditLog } from '../audit/audit-log.js';
import { loadOrCreateAuthority, type Authority } from '../ca/authority.js';
import { LeafCache } from '../ca/leaf-cache.js';
import { readRoots, writeTrustBundle } from '../ca/trust.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { GrantGate } from '../grants/gate.js';
import { OAuthTokenSource } from '../oauth/refresher.js';
import { TokenClient } from '../oauth/token-client.js';
import type { Logger } from '../log/logger.js';
import { ProviderRegistry } from '../providers/registry.js';
import { Store } from '../store/store.js';
import { Vault } from '../vault/vault.js';
import { Metrics } from '../metrics/metrics.js';
import { Interception } from '../proxy/interception.js';
import type { Portal } from '../portal/portal.js';
import { ProxyServer } from '../proxy/server.js';
import { Upstream } from '../proxy/upstream.js';
import { parseHostPort, type HostPort } from '../util/hosts.js';

/** A running grantd: its listeners, its CA, and how to stop it. */
export interface Daemon {
  proxyAddress: AddressInfo;
  adminAddress: AddressInfo;
  authority: Authority;
  store: Store;
  vault: Vault;
  audit: AuditLog;
  /** The PEM file of system roots plus the grantd CA, for clients. */
  trustBundlePath: string;
  /**
   * Reads the config file again (SIGHUP): providers, their client secrets
   * (`file:` ones re-read) and routes take effect for the next request. A bad
   * config is refused, its problems logged, and the running one kept.
   */
  reload(): boolean;
  /** Stops accepting, lets in-flight work finish for up to `graceMs`, then closes. */
  close(graceMs?: number): Promise<void>;
}

/** Keys a reload cannot change: they need a restart. */
const RESTART_KEYS = [
  'listen',
  'admin',
  'home',
  'vault',
  'upstream',
  'resolve',
  'egress',
  'limits',
  'audit',
  'log',
  'shutdown',
] as const;

/**
 * Starts grantd: makes the data folder and CA on first run, then opens the
 * proxy and admin listeners.
 */
export async function startDaemon(config: LoadedConfig, logger: Logger): Promise<Daemon> {
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const authority = await loadOrCreateAuthority(config.home);
  if (authority.created) {
    logger.info(
      { path: authority.paths.cert, fingerprint: authority.fingerprint256 },
      'created local CA',
    );
  }
  const extraRoots = config.upstream.ca_file ? readRoots(config.upstream.ca_file) : [];
  const trustBundlePath = writeTrustBundle(config.home, authority.certPem, extraRoots);

  // The daemon must never stall its event loop waiting on a lock another
  // process holds: a write that cannot go at once fails fast and is retried
  // (audit rows stay queued), where a CLI command would rather wait its turn.
  const store = Store.open(config.home, { busyTimeoutMs: 100 });
  const vault = await Vault.open(config, { logger });
  const providers = new ProviderRegistry(config.providers);
  const audit = new AuditLog(store.db, logger);
  const pruned = audit.prune(config.audit.retention_days);
  if (pruned > 0) logger.info({ rows: pruned }, 'pruned old audit rows');
  // Retention runs daily as well, for daemons that stay up for weeks.
  const pruneTimer = setInterval(
    () => audit.prune(config.audit.retention_days),
    86_400_000,
  ).unref();

  warnOnOpenListeners(config, logger);
  const interception = new Interception(config, { providers, store });
  // One pool of upstream connections; token endpoints are called with the same
  // trust, `resolve:` and egress guard as proxied traffic.
  const upstream = new Upstream(config);
  const leafCache = new LeafCache(authority);
  const metrics = new Metrics({ leafCache, audit });
  const tokens = new OAuthTokenSource({
    vault,
    store,
    client: new TokenClient(upstream),
    logger,
    onRefresh: (provider, result) => metrics.refreshes.inc({ provider, result }),
  });
  const gate = new GrantGate({ config, store, providers, tokens });
  const proxy = new ProxyServer({
    config,
    logger,
    metrics,
    leafCache,
    upstream,
    interception,
    gate,
    audit,
  });
  // The portal reads the config and proxy address at request time: both are
  // set below (the config again on every reload) before the admin listener opens.
  // Its pages and API are loaded on its first request, so a service that never
  // opens it does not pay for them at start (about 50 ms and 3 MiB).
  let portal: Promise<Portal> | undefined;
  const openPortal = () =>
    (portal ??= import('../portal/portal.js').then(
      (module) =>
        new module.Portal({
          store,
          vault,
          audit,
          authority,
          trustBundlePath,
          logger,
          config: () => current,
          proxyAddress: () => proxyAddress,
        }),
    ));
  const admin = new AdminServer({
    logger,
    fallback: (req, res) => {
      openPortal().then(
        (loaded) => loaded.handle(req, res),
        (error: unknown) => {
          logger.error({ err: error }, 'portal could not be loaded');
          res.writeHead(500, { 'Content-Type': 'text/plain' }).end('grantd: portal unavailable\n');
        },
      );
    },
    metrics: async () => ({
      contentType: metrics.registry.contentType,
      text: await metrics.registry.metrics(),
    }),
    checks: [
      { name: 'ca', check: () => authority.certPem.length > 0 },
      { name: 'proxy_listener', check: () => proxy.listening },
      { name: 'store', check: () => store.db.open && audit.healthy },
      { name: 'vault', check: () => vaultReadable },
    ],
  });

  // Readiness asks the vault in the background, so a probe never waits on it.
  let vaultReadable = true;
  const probeVault = async () => {
    try {
      await vault.get('grantd-readiness-probe', 0);
      vaultReadable = true;
    } catch {
      vaultReadable = false;
    }
  };
  await probeVault();
  const vaultTimer = setInterval(() => void probeVault(), 10_000).unref();

  let current = config;
  const reload = (): boolean => {
    let next: LoadedConfig;
    try {
      next = loadConfig({ file: config.source });
    } catch (error) {
      const issues = error instanceof ConfigError ? error.issues : [(error as Error).message];
      logger.error({ issues }, 'config reload refused; the running config stays');
      return false;
    }
    for (const key of RESTART_KEYS) {
      if (JSON.stringify(next[key]) !== JSON.stringify(current[key])) {
        logger.warn({ key }, 'config reload: this key changes only on restart');
      }
    }
    const nextProviders = new ProviderRegistry(next.providers);
    proxy.reconfigure({
      gate: new GrantGate({ config: next, store, providers: nextProviders, tokens }),
      interception: new Interception(next, { providers: nextProviders, store }),
    });
    current = next;
    logger.info(
      { providers: Object.keys(next.providers).length, routes: next.routes.length },
      'config reloaded',
    );
    return true;
  };

  const proxyAddress = await proxy.listen(listenAddress(config.listen));
  setImmediate(() => {
    try {
      upstream.warm();
    } catch (error) {
      logger.error({ err: error }, 'the upstream trust roots could not be loaded');
    }
  });
  let adminAddress: AddressInfo;
  try {
    adminAddress = await admin.listen(listenAddress(config.admin));
  } catch (error) {
    await proxy.close(0);
    audit.close();
    store.close();
    throw error;
  }
  logger.info(
    {
      proxy: `${proxyAddress.address}:${proxyAddress.port}`,
      admin: `${adminAddress.address}:${adminAddress.port}`,
      intercepting: interception.size,
      home: config.home,
      vault: vault.kind,
    },
    'grantd listening',
  );

  let closing: Promise<void> | undefined;
  return {
    proxyAddress,
    adminAddress,
    authority,
    store,
    vault,
    audit,
    trustBundlePath,
    reload,
    close(graceMs = config.shutdown.grace_ms) {
      // A second close without grace (a second signal) cuts the drain short.
      if (closing && graceMs === 0) proxy.abortDrain();
      closing ??= (async () => {
        logger.info({ graceMs }, 'shutting down');
        await proxy.close(graceMs);
        await admin.close();
        clearInterval(pruneTimer);
        clearInterval(vaultTimer);
        audit.close();
        store.close();
        logger.info('stopped');
      })();
      return closing;
    },
  };
}

/** Listeners beyond loopback are allowed, and said out loud; with keys off, loudly. */
function warnOnOpenListeners(config: LoadedConfig, logger: Logger): void {
  for (const [name, text] of [
    ['listen', config.listen],
    ['admin', config.admin],
  ] as const) {
    const { host } = listenAddress(text);
    if (isLoopback(host)) continue;
    if (name === 'listen' && !config.auth.required) {
      logger.warn(
        { listen: text },
        'the proxy listens beyond loopback with auth.required off: anyone who reaches it can use every grant',
      );
    } else {
      logger.info({ [name]: text }, `the ${name} listener is reachable beyond loopback`);
    }
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function listenAddress(text: string): HostPort {
  return parseHostPort(text) as HostPort;
}
