import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** A host and port as written in `listen`, `resolve` or a CONNECT line. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Lower-cases a host name, drops a trailing dot and IPv6 brackets, and turns
 * an international name into its punycode form, so that every spelling of
 * one host compares equal. Returns undefined for something that is not a
 * host name or IP address at all.
 */
export function canonicalHost(raw: string): string | undefined {
  let host = raw.trim();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (isIP(host) === 6) {
    // A zone (fe80::1%eth0) names an interface of this machine: never a destination here.
    if (host.includes('%')) return undefined;
    // The WHATWG form (compressed, lower case, ::ffff:808:808 for a mapped
    // IPv4): the one undici and URL produce, so the address the egress guard
    // checked and the one that is dialled are spelled alike.
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '' || host.includes('..')) return undefined;
  // domainToASCII parses its input as a URL host and quietly drops whatever
  // follows a delimiter ('a/b' becomes 'a'), so delimiters are refused first.
  if (/[\s/\\?#@:%[\]<>^|"'`{}]/.test(host)) return undefined;
  // domainToASCII also normalises dotted-decimal and lower-cases; it returns
  // '' for names it cannot encode.
  const ascii = domainToASCII(host);
  if (ascii === '' || !/^[a-z0-9._-]+$/.test(ascii)) return undefined;
  return ascii;
}

/**
 * Parses `host:port`, `[v6]:port`, or a bare host when `defaultPort` is given.
 * Returns undefined when the text is not of that form.
 */
export function parseHostPort(text: string, defaultPort?: number): HostPort | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*))(?::(\d{1,5}))?$/.exec(text.trim());
  if (!match) return undefined;
  const rawHost = match[1] ?? match[2] ?? '';
  if (match[1] !== undefined && isIP(match[1]) !== 6) return undefined;
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  const host = rawHost === '' ? '' : canonicalHost(rawHost);
  if (host === undefined) return undefined;
  return { host, port };
}

/** `host:port`, with brackets around an IPv6 address. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
