/**
 * Header hygiene between the client and the upstream (RFC 9110 section 7.6.1).
 * Hop-by-hop fields belong to one connection and are never forwarded; grantd's
 * own request fields and the proxy credentials never leave grantd.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * `Expect: 100-continue` was answered by grantd's own server, which sends the
 * client its 100 before the request is read; the upstream gets the body at
 * once, so the field would only make it wait.
 */
const ANSWERED_BY_GRANTD = 'expect';

/** The lower-case prefix of grantd's own request header fields. */
export const GRANTD_PREFIX = 'grantd-';

/**
 * Filters a raw header list (alternating names and values, as Node gives
 * them) for forwarding. Fields named in `Connection` are dropped too. With
 * `keepUpgrade`, `Connection: upgrade` and `Upgrade` survive so a WebSocket
 * handshake can pass.
 */
export function forwardableRequestHeaders(raw: string[], keepUpgrade = false): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (lower.startsWith(GRANTD_PREFIX)) continue;
    if (keepUpgrade && lower === 'upgrade') {
      out.push(name, raw[i + 1] as string);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named.has(lower) || lower === ANSWERED_BY_GRANTD) continue;
    out.push(name, raw[i + 1] as string);
  }
  if (keepUpgrade) out.push('Connection', 'Upgrade');
  return out;
}

/** Filters upstream response headers for the client: only hop-by-hop fields go. */
export function forwardableResponseHeaders(raw: string[]): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out.push(raw[i] as string, raw[i + 1] as string);
  }
  return out;
}

/** Every field name listed in any `Connection` header, lower-cased. */
function connectionTokens(raw: string[]): Set<string> {
  const names = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'connection') continue;
    for (const token of (raw[i + 1] as string).split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && name !== 'close' && name !== 'keep-alive') names.add(name);
    }
  }
  return names;
}

/** The first value of a header in a raw list, case-insensitively. */
export function rawHeader(raw: string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === name) return raw[i + 1];
  }
  return undefined;
}
