/** The user name and password a client put in `Proxy-Authorization: Basic`. */
export interface ProxyCredentials {
  user: string;
  password: string;
}

/**
 * Parses a `Proxy-Authorization` value (RFC 9110 section 11.7.1, Basic per
 * RFC 7617). Returns undefined for a missing, non-Basic or malformed value;
 * the caller answers those with 407, like any other missing key.
 */
export function parseProxyAuthorization(value: string | undefined): ProxyCredentials | undefined {
  if (value === undefined) return undefined;
  const match = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(value);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  const user = decodeURIComponentSafe(decoded.slice(0, colon));
  const password = decodeURIComponentSafe(decoded.slice(colon + 1));
  if (user === undefined || password === undefined) return undefined;
  return { user, password };
}

/**
 * Proxy URLs carry user and password percent-encoded; most clients decode
 * them before sending, some do not. Either way the plain text comes out.
 */
function decodeURIComponentSafe(text: string): string | undefined {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
