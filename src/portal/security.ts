import type { IncomingMessage } from 'node:http';

import { parseHostPort } from '../util/hosts.js';

/**
 * The portal's Content-Security-Policy: scripts, styles and fetches from its
 * own origin only, no inline script or style, no framing, no plugins, forms
 * posting nowhere else.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Headers on every portal response, pages, assets, JSON and refusals alike. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The header the page's script sends the session's CSRF token in. */
export const CSRF_HEADER = 'x-grantd-csrf';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Whether the Host header names this machine's loopback (or the configured
 * admin host). A page on another name that resolves here (DNS rebinding) is
 * refused before anything else, so it cannot even reach the login route.
 */
export function isAllowedHost(hostHeader: string | undefined, adminHost: string): boolean {
  if (!hostHeader) return false;
  const parsed = parseHostPort(hostHeader, 80);
  if (!parsed) return false;
  if (LOOPBACK_NAMES.has(parsed.host)) return true;
  const wildcard = adminHost === '' || adminHost === '0.0.0.0' || adminHost === '::';
  return !wildcard && parsed.host === adminHost;
}

/**
 * Whether a state-changing request comes from a page of the portal itself:
 * its Origin is exactly `http://<Host>` (scheme, name and port), and, when the
 * browser says, the fetch was same-origin. Other local ports are the same
 * *site* as the portal, so SameSite cookies alone would not stop them.
 */
export function isSameOrigin(req: IncomingMessage): boolean {
  const { origin, host } = req.headers;
  if (!origin || !host || origin !== `http://${host}`) return false;
  const site = req.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin';
}

/** The session cookie's name: per port, so two daemons on one machine keep their own. */
export function cookieName(port: number): string {
  return `grantd_portal_${port}`;
}

/** The value of one cookie from the Cookie header. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** HttpOnly (no script reads it), SameSite=Strict, the whole portal; gone with the browser. */
export function sessionCookie(name: string, id: string): string {
  return `${name}=${id}; HttpOnly; SameSite=Strict; Path=/`;
}

export function clearedCookie(name: string): string {
  return `${name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
}
