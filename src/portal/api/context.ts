import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { AuditLog } from '../../audit/audit-log.js';
import type { Authority } from '../../ca/authority.js';
import type { LoadedConfig } from '../../config/load.js';
import type { Logger } from '../../log/logger.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import type { Store } from '../../store/store.js';
import type { Vault } from '../../vault/vault.js';

/** What the portal works on: the daemon's own store, vault, audit log and CA. */
export interface PortalDeps {
  store: Store;
  vault: Vault;
  audit: AuditLog;
  authority: Pick<Authority, 'fingerprint256' | 'paths' | 'certPem'>;
  /** The PEM bundle of system roots plus the CA, for clients that replace their roots. */
  trustBundlePath: string;
  logger: Logger;
  /** The config in force now; it changes on SIGHUP. */
  config: () => LoadedConfig;
  /** The providers of the config in force now. */
  providers: () => ProviderRegistry;
  /** Where the proxy listens, once it does. */
  proxyAddress: () => AddressInfo | undefined;
}

/** One API request, as a route's handler sees it. */
export interface ApiCall {
  deps: PortalDeps;
  /** The `:name` parts of the route's path, decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON object body (POST), read on first call. */
  body: () => Promise<Record<string, unknown>>;
  /** For handlers that stream their own answer (exports); they return STREAMED. */
  res: ServerResponse;
  /** Ends the caller's session (sign out). */
  signOut: () => void;
}

/** Returned by a handler that wrote the response itself. */
export const STREAMED = Symbol('streamed');

export type ApiMethod = 'GET' | 'POST' | 'DELETE';

/** One JSON API route. Every one of them needs a session; state changes also Origin and CSRF. */
export interface ApiRoute {
  method: ApiMethod;
  /** `/api/...`, with `:name` for a path segment. */
  path: string;
  run: (call: ApiCall) => unknown;
}

/** `127.0.0.1:8790`, as clients reach the proxy: a wildcard listener through loopback. */
export function proxyHostPort(deps: PortalDeps): string {
  const address = deps.proxyAddress();
  const port = address?.port ?? Number(deps.config().listen.split(':').at(-1));
  const host = address?.address ?? '127.0.0.1';
  if (host === '0.0.0.0' || host === '') return `127.0.0.1:${port}`;
  if (host === '::') return `[::1]:${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Milliseconds to an ISO date, or null. */
export function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
