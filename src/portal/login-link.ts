import { formatHostPort, parseHostPort } from '../util/hosts.js';

/**
 * The portal's origin for an `admin:` address, as a browser on this machine
 * reaches it: a wildcard listener through loopback. Undefined for port 0,
 * whose real port only the running daemon knows.
 */
export function portalOrigin(admin: string): string | undefined {
  const address = parseHostPort(admin);
  if (!address || address.port === 0) return undefined;
  let host = address.host;
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${formatHostPort({ host, port: address.port })}`;
}

/** The one-time link `grantd portal` prints and opens. */
export function loginLink(origin: string, token: string): string {
  return `${origin}/login?token=${encodeURIComponent(token)}`;
}
