import { existsSync } from 'node:fs';

import { expect } from 'vitest';

import type { ConfigInput } from '../../../src/config/schema.js';
import { freePort, startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor } from '../../helpers/grants.js';

export const CHROMIUM = '/usr/bin/chromium';
// CI sets GRANTD_REQUIRE_BROWSER=1, so a missing browser fails there instead of skipping.
export const skipBrowser = !existsSync(CHROMIUM) && process.env.GRANTD_REQUIRE_BROWSER !== '1';

/** Chromium's flags for these tests: headless, no sandbox (containers), no proxy, no chatter. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--no-proxy-server',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A daemon whose admin listener has a fixed port, so the login link that
 * `grantd portal` (another process, reading the same config file) prints
 * names it. Port 0 would leave the CLI no way to know.
 */
export async function startPortalDaemon(overrides: ConfigInput = {}): Promise<InProcessDaemon> {
  const port = await freePort();
  return startInProcess({ admin: `127.0.0.1:${port}`, vault: { backend: 'file' }, ...overrides });
}

/** `grantd portal --no-browser` against the daemon's data folder and config: the link. */
export async function printLoginLink(grantd: InProcessDaemon): Promise<string> {
  const cli = cliFor(grantd.config.home, grantd.configPath);
  const result = await cli.run(['portal', '--no-browser']);
  expect(result.stdout).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/login\?token=gpl_[0-9A-Za-z]{43}\n$/);
  return result.stdout.trim();
}

/** A signed-in HTTP client of the portal, as the page's script would call it. */
export interface PortalClient {
  origin: string;
  cookie: string;
  csrf: string;
  get(path: string): Promise<Response>;
  /** A state change with the portal's Origin and the CSRF token, unless `headers` replaces them. */
  send(
    method: 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
}

/** Redeems a login link and reads the CSRF token from the overview page. */
export async function signIn(link: string): Promise<PortalClient> {
  const origin = new URL(link).origin;
  const login = await fetch(link, { redirect: 'manual' });
  expect(login.status).toBe(303);
  expect(login.headers.get('location')).toBe('/');
  const setCookie = login.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0] as string;
  const page = await (await fetch(`${origin}/`, { headers: { cookie } })).text();
  const csrf = /<meta name="grantd-csrf" content="([^"]+)">/.exec(page)?.[1];
  if (!csrf) throw new Error('no CSRF token on the overview page');
  return {
    origin,
    cookie,
    csrf,
    get: (path) => fetch(`${origin}${path}`, { headers: { cookie } }),
    send: (method, path, body, headers) =>
      fetch(`${origin}${path}`, {
        method,
        headers: headers ?? {
          cookie,
          origin,
          'x-grantd-csrf': csrf,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
  };
}
