import { mkdirSync } from 'node:fs';

import { loadOrCreateAuthority } from '../ca/authority.js';
import { readRoots, writeTrustBundle } from '../ca/trust.js';
import type { LoadedConfig } from '../config/load.js';
import { formatHostPort, parseHostPort, type HostPort } from '../util/hosts.js';

/** Variables read by the HTTP clients of most languages, in a stable order. */
export type ProxyEnv = [name: string, value: string][];

/**
 * The variables that send a program's HTTP traffic through grantd and make it
 * trust grantd's CA. Makes the CA and trust bundle if the daemon has not yet.
 */
export async function buildProxyEnv(
  config: LoadedConfig,
  credentials?: { user: string; key: string },
): Promise<ProxyEnv> {
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const authority = await loadOrCreateAuthority(config.home);
  const extraRoots = config.upstream.ca_file ? readRoots(config.upstream.ca_file) : [];
  const bundle = writeTrustBundle(config.home, authority.certPem, extraRoots);
  const address = formatHostPort(clientAddress(parseHostPort(config.listen) as HostPort));
  const userinfo = credentials
    ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.key)}@`
    : '';
  const proxyUrl = `http://${userinfo}${address}`;
  const noProxy = 'localhost,127.0.0.1,::1';

  return [
    ['HTTPS_PROXY', proxyUrl],
    ['HTTP_PROXY', proxyUrl],
    ['https_proxy', proxyUrl],
    ['http_proxy', proxyUrl],
    ['NO_PROXY', noProxy],
    ['no_proxy', noProxy],
    // Node 22.21+ / 24.5+ honour HTTP(S)_PROXY in fetch and http only with this set.
    ['NODE_USE_ENV_PROXY', '1'],
    // Node adds this one file to its own roots; the others replace the roots
    // entirely, so they get the bundle of system roots plus grantd's CA.
    ['NODE_EXTRA_CA_CERTS', authority.paths.cert],
    ['SSL_CERT_FILE', bundle],
    ['REQUESTS_CA_BUNDLE', bundle],
    ['CURL_CA_BUNDLE', bundle],
    ['GIT_SSL_CAINFO', bundle],
    ['DENO_CERT', bundle],
  ];
}

/** A wildcard listen address is reached through loopback. */
function clientAddress(address: HostPort): HostPort {
  if (address.host === '0.0.0.0' || address.host === '') return { ...address, host: '127.0.0.1' };
  if (address.host === '::') return { ...address, host: '::1' };
  return address;
}

export type Shell = 'sh' | 'fish' | 'powershell' | 'dotenv';

/** Renders the variables in a shell's syntax, quoted so any value survives. */
export function renderEnv(vars: ProxyEnv, shell: Shell): string {
  const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  const lines = vars.map(([name, value]) => {
    switch (shell) {
      case 'sh':
        return `export ${name}=${quote(value)}`;
      case 'fish':
        return `set -gx ${name} '${value.replace(/(['\\])/g, '\\$1')}'`;
      case 'powershell':
        return `$env:${name} = '${value.replace(/'/g, "''")}'`;
      case 'dotenv':
        return `${name}="${value.replace(/(["\\$])/g, '\\$1')}"`;
    }
  });
  return `${lines.join('\n')}\n`;
}
