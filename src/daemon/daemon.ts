import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

import { AdminServer } from '../admin/server.js';
import { loadOrCreateAuthority, type Authority } from '../ca/authority.js';
import { LeafCache } from '../ca/leaf-cache.js';
import { readRoots, writeTrustBundle } from '../ca/trust.js';
import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { Interception } from '../proxy/interception.js';
import { ProxyServer } from '../proxy/server.js';
import { Upstream } from '../proxy/upstream.js';
import { parseHostPort, type HostPort } from '../util/hosts.js';

/** A running grantd: its listeners, its CA, and how to stop it. */
export interface Daemon {
  proxyAddress: AddressInfo;
  adminAddress: AddressInfo;
  authority: Authority;
  /** The PEM file of system roots plus the grantd CA, for clients. */
  trustBundlePath: string;
  /** Stops accepting, lets in-flight work finish for up to `graceMs`, then closes. */
  close(graceMs?: number): Promise<void>;
}

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

  const interception = new Interception(config);
  const proxy = new ProxyServer({
    config,
    logger,
    leafCache: new LeafCache(authority),
    upstream: new Upstream(config),
    interception,
  });
  const admin = new AdminServer({
    logger,
    checks: [
      { name: 'ca', check: () => authority.certPem.length > 0 },
      { name: 'proxy_listener', check: () => proxy.listening },
    ],
  });

  const proxyAddress = await proxy.listen(listenAddress(config.listen));
  let adminAddress: AddressInfo;
  try {
    adminAddress = await admin.listen(listenAddress(config.admin));
  } catch (error) {
    await proxy.close(0);
    throw error;
  }
  logger.info(
    {
      proxy: `${proxyAddress.address}:${proxyAddress.port}`,
      admin: `${adminAddress.address}:${adminAddress.port}`,
      intercepting: interception.hosts.size,
      home: config.home,
    },
    'grantd listening',
  );

  let closing: Promise<void> | undefined;
  return {
    proxyAddress,
    adminAddress,
    authority,
    trustBundlePath,
    close(graceMs = config.shutdown.grace_ms) {
      closing ??= (async () => {
        logger.info({ graceMs }, 'shutting down');
        await proxy.close(graceMs);
        await admin.close();
        logger.info('stopped');
      })();
      return closing;
    },
  };
}

function listenAddress(text: string): HostPort {
  return parseHostPort(text) as HostPort;
}
