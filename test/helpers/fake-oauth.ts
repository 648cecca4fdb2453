import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { stringify } from 'yaml';

import type { ConfigInput } from '../../src/config/schema.js';
import { CLI, tempDir } from './daemon.js';
import type { TestPki } from './pki.js';

export const AUTH_HOST = 'auth.fake-oauth.test';
export const API_HOST = 'api.fake-oauth.test';
export const CLIENT_ID = 'fake-client-id';
export const CLIENT_SECRET = 'fake-client-secret-8d1c4f0a';

/** How the next refresh answers, until the switch is set back to undefined. */
export type RefreshFailure = 'invalid_grant' | 'http500' | 'hang' | undefined;

/** The account the fake's userinfo endpoint describes. */
export const USERINFO = {
  sub: 'user-1',
  email: 'ada@fake-oauth.test',
  preferred_username: 'ada@acme.test',
};

/** What the token endpoint was asked, in order: grant type and how the client authenticated. */
export interface TokenCall {
  grantType: string;
  clientAuth: 'basic' | 'post' | 'none';
  refreshToken?: string;
}

/**
 * A real OAuth 2 provider on HTTPS, 127.0.0.1 and an ephemeral port, serving
 * both auth.fake-oauth.test (authorize page, token endpoint, userinfo) and
 * api.fake-oauth.test (an API that checks bearer tokens). Access tokens live
 * `expiresIn` seconds; refresh tokens rotate and die after one use.
 */
export interface FakeOAuth {
  port: number;
  /** The server certificate (PEM), for clients that pin it rather than trust the test CA. */
  certPem: string;
  /** Token lifetime in seconds for tokens issued from now on. */
  expiresIn: number;
  refreshFailure: RefreshFailure;
  /** Refreshes answer after this many ms, so concurrent callers surely overlap one. */
  refreshDelayMs: number;
  /** Extra fields in every token answer (e.g. instance_url). */
  extraTokenFields: Record<string, string>;
  /** Extra query parameters on the redirect after approval (e.g. realmId). */
  extraCallbackParams: Record<string, string>;
  /** Every token endpoint call, in order. */
  tokenCalls: TokenCall[];
  /** Requests to the userinfo endpoint, in order. */
  userinfoCalls: { method: string; body: string }[];
  /** Authorization headers the API saw, in order. */
  apiTokens: string[];
  /** Access tokens issued so far, oldest first. */
  issuedAccessTokens: string[];
  /** Refresh tokens issued so far, oldest first (only the newest of a chain is live). */
  issuedRefreshTokens: string[];
  /** Issues a live token pair without a browser, to seed a grant directly. */
  mintTokens(): { access_token: string; refresh_token: string; expires_in: number };
  /** The config that points grantd at this provider as the custom provider `fake`. */
  config(extra?: ConfigInput): ConfigInput;
  /** Requests the authorize URL as a plain HTTP client and approves: the redirect Location. */
  approve(authorizeUrl: string): Promise<string>;
  /** The same, pressing Deny. */
  deny(authorizeUrl: string): Promise<string>;
  /** GET or POST to one of the fake's hosts with the test CA trusted. */
  fetch(
    url: string,
    init?: { method?: string; body?: string; headers?: Record<string, string> },
  ): Promise<FetchResult>;
  close(): Promise<void>;
}

export interface FetchResult {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

interface IssuedCode {
  redirectUri: string;
  challenge: string | undefined;
  scope: string;
}

/**
 * Starts the fake. `names` adds certificate names, so it can stand in for a
 * built-in provider's hosts too (with `resolve:` pointing them here): any
 * path ending in /authorize, /token or /userinfo is served as that endpoint.
 */
export async function startFakeOAuth(pki: TestPki, names: string[] = []): Promise<FakeOAuth> {
  const tls = await pki.issue([AUTH_HOST, API_HOST, ...names]);
  const codes = new Map<string, IssuedCode>();
  const accessTokens = new Map<string, number>();
  const liveRefreshTokens = new Set<string>();
  const hanging = new Set<ServerResponse>();
  let serial = 0;

  const fake: FakeOAuth = {
    port: 0,
    certPem: tls.cert,
    expiresIn: 2,
    refreshFailure: undefined,
    refreshDelayMs: 0,
    extraTokenFields: {},
    extraCallbackParams: {},
    tokenCalls: [],
    apiTokens: [],
    userinfoCalls: [],
    issuedAccessTokens: [],
    issuedRefreshTokens: [],
    mintTokens: () => issue('read', true) as ReturnType<FakeOAuth['mintTokens']>,
    config: (extra = {}) => fakeConfig(fake.port, pki.caPath, extra),
    approve: (url) => decide(fake, url, 'approve'),
    deny: (url) => decide(fake, url, 'deny'),
    fetch: (url, init) => fetchFake(fake.port, pki.caPem, url, init),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const issue = (scope: string, withRefresh: boolean) => {
    serial += 1;
    const accessToken = `at_${serial}_${randomBytes(9).toString('base64url')}`;
    accessTokens.set(accessToken, Date.now() + fake.expiresIn * 1000);
    fake.issuedAccessTokens.push(accessToken);
    const answer: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: fake.expiresIn,
      scope,
      ...fake.extraTokenFields,
    };
    if (withRefresh) {
      const refreshToken = `rt_${serial}_${randomBytes(9).toString('base64url')}`;
      liveRefreshTokens.add(refreshToken);
      fake.issuedRefreshTokens.push(refreshToken);
      answer.refresh_token = refreshToken;
    }
    return answer;
  };

  const token = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const form = new URLSearchParams(body);
    const client = clientOf(req, form);
    const grantType = form.get('grant_type') ?? '';
    fake.tokenCalls.push({
      grantType,
      clientAuth: client.how,
      ...(form.has('refresh_token') ? { refreshToken: form.get('refresh_token') as string } : {}),
    });
    if (client.id !== CLIENT_ID || client.secret !== CLIENT_SECRET) {
      return json(res, 401, { error: 'invalid_client' });
    }
    if (grantType === 'authorization_code') {
      const code = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (!code || code.redirectUri !== form.get('redirect_uri')) {
        return json(res, 400, { error: 'invalid_grant' });
      }
      const verifier = form.get('code_verifier');
      if (code.challenge !== undefined && (!verifier || s256(verifier) !== code.challenge)) {
        return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE check failed' });
      }
      return json(res, 200, issue(code.scope, true));
    }
    if (grantType === 'refresh_token') {
      if (fake.refreshFailure === 'hang') {
        hanging.add(res);
        return;
      }
      if (fake.refreshFailure === 'http500') return text(res, 500, 'upstream exploded');
      const presented = form.get('refresh_token') ?? '';
      if (fake.refreshFailure === 'invalid_grant' || !liveRefreshTokens.delete(presented)) {
        return json(res, 400, {
          error: 'invalid_grant',
          error_description: 'refresh token is dead',
        });
      }
      const answer = issue('read', true);
      setTimeout(() => json(res, 200, answer), fake.refreshDelayMs);
      return;
    }
    if (grantType === 'client_credentials') {
      return json(res, 200, issue(form.get('scope') ?? '', false));
    }
    return json(res, 400, { error: 'unsupported_grant_type' });
  };

  const isLive = (req: IncomingMessage) => {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const expiry = bearer === undefined ? undefined : accessTokens.get(bearer);
    return expiry !== undefined && expiry > Date.now();
  };

  const server: Server = createServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', `https://${AUTH_HOST}`);
      if (url.pathname === '/authorize/decide') {
        const form = req.method === 'POST' ? new URLSearchParams(body) : url.searchParams;
        return redirectDecision(form, res, codes, fake.extraCallbackParams);
      }
      if (url.pathname.endsWith('/authorize') && req.method === 'GET') {
        return authorizePage(url, res);
      }
      if (url.pathname.endsWith('/token') && req.method === 'POST') return token(req, res, body);
      if (url.pathname.endsWith('/userinfo')) {
        fake.userinfoCalls.push({ method: req.method ?? '', body });
        return isLive(req) ? json(res, 200, USERINFO) : json(res, 401, { error: 'invalid_token' });
      }
      fake.apiTokens.push(req.headers.authorization ?? '');
      if (!isLive(req)) return json(res, 401, { error: 'invalid_token' });
      return json(res, 200, { ok: true, path: url.pathname });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.port = (server.address() as AddressInfo).port;
  return fake;
}

function fakeConfig(port: number, caPath: string, extra: ConfigInput): ConfigInput {
  return {
    ...extra,
    resolve: {
      [`${AUTH_HOST}:443`]: `127.0.0.1:${port}`,
      [`${API_HOST}:443`]: `127.0.0.1:${port}`,
      ...extra.resolve,
    },
    upstream: { ca_file: caPath, ...extra.upstream },
    providers: {
      fake: {
        auth: 'oauth2',
        display_name: 'Fake OAuth',
        authorize_url: `https://${AUTH_HOST}/authorize`,
        token_url: `https://${AUTH_HOST}/token`,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        scopes: ['read', 'write'],
        hosts: [API_HOST],
      },
      ...extra.providers,
    },
  };
}

/** The consent page: the request echoed in hidden fields, and Approve and Deny buttons. */
function authorizePage(url: URL, res: ServerResponse): void {
  const q = url.searchParams;
  if (q.get('client_id') !== CLIENT_ID || q.get('response_type') !== 'code') {
    return text(res, 400, 'bad authorize request');
  }
  if (!/^http:\/\/127\.0\.0\.1:\d+\/callback$/.test(q.get('redirect_uri') ?? '')) {
    return text(res, 400, 'redirect_uri must be a loopback callback');
  }
  const hidden = [...q]
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('\n');
  const html = `<!doctype html><html><head><title>Fake OAuth consent</title></head><body>
<h1>Allow grantd to use your Fake OAuth account?</h1>
<p>Scopes: ${esc(q.get('scope') ?? '')}</p>
<form method="post" action="/authorize/decide">
${hidden}
<button type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form></body></html>`;
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
}

function redirectDecision(
  form: URLSearchParams,
  res: ServerResponse,
  codes: Map<string, IssuedCode>,
  extra: Record<string, string>,
): void {
  const redirect = new URL(form.get('redirect_uri') ?? '');
  const state = form.get('state');
  if (form.get('decision') === 'approve') {
    const code = `code_${randomBytes(9).toString('base64url')}`;
    const method = form.get('code_challenge_method');
    if (form.has('code_challenge') && method !== 'S256') return text(res, 400, 'S256 only');
    codes.set(code, {
      redirectUri: redirect.toString(),
      challenge: form.get('code_challenge') ?? undefined,
      scope: form.get('scope') ?? '',
    });
    redirect.searchParams.set('code', code);
    for (const [k, v] of Object.entries(extra)) redirect.searchParams.set(k, v);
  } else {
    redirect.searchParams.set('error', 'access_denied');
  }
  if (state !== null) redirect.searchParams.set('state', state);
  res.writeHead(302, { location: redirect.toString() });
  res.end();
}

/** Approve or deny with plain GETs, as a script would: the answer's Location is the callback. */
async function decide(fake: FakeOAuth, authorizeUrl: string, decision: string): Promise<string> {
  const page = await fake.fetch(authorizeUrl);
  if (page.status !== 200) throw new Error(`authorize page answered ${page.status}: ${page.body}`);
  const url = new URL(authorizeUrl);
  url.pathname = '/authorize/decide';
  url.searchParams.set('decision', decision);
  const answer = await fake.fetch(url.toString());
  const location = answer.headers.location;
  if (answer.status !== 302 || location === undefined) {
    throw new Error(`decide answered ${answer.status}: ${answer.body}`);
  }
  return location;
}

function fetchFake(
  port: number,
  ca: string,
  target: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<FetchResult> {
  const url = new URL(target);
  return new Promise<FetchResult>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        servername: url.hostname,
        ca,
        method: init.method ?? 'GET',
        path: `${url.pathname}${url.search}`,
        headers: { host: url.hostname, ...init.headers },
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

function clientOf(
  req: IncomingMessage,
  form: URLSearchParams,
): { id: string | null; secret: string | null; how: TokenCall['clientAuth'] } {
  const basic = /^Basic (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (basic !== undefined) {
    const [id, secret] = Buffer.from(basic, 'base64').toString().split(':');
    return {
      id: decodeURIComponent(id ?? ''),
      secret: decodeURIComponent(secret ?? ''),
      how: 'basic',
    };
  }
  const how = form.has('client_secret') ? 'post' : 'none';
  return { id: form.get('client_id'), secret: form.get('client_secret'), how };
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function json(res: ServerResponse, status: number, doc: unknown): void {
  const body = JSON.stringify(doc);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(body);
}

function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A running `grantd connect`: the URL it printed, and how it ended. */
export interface ConnectRun {
  child: ChildProcess;
  /** Resolves with the first https URL printed on stderr. */
  url: Promise<string>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts the real CLI (`grantd connect ...`) and watches its stderr for the authorize URL. */
export function startConnect(args: string[], env: NodeJS.ProcessEnv): ConnectRun {
  const child = spawn(process.execPath, [CLI, 'connect', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let foundUrl: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (foundUrl = resolve));
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    const match = /https:\/\/\S+/.exec(stderr);
    if (match) foundUrl(match[0]);
  });
  const done = once(child, 'close').then(([code]) => ({
    code: code as number | null,
    stdout,
    stderr,
  }));
  const printed = Promise.race([
    url,
    done.then((r) => {
      throw new Error(`connect ended (${r.code}) before printing a URL:\n${r.stderr}`);
    }),
  ]);
  // A test may look at the URL only later; an early exit must not count as unhandled.
  printed.catch(() => undefined);
  return { child, url: printed, done };
}

/** A data folder and config file for CLI runs against the fake provider. */
export interface FakeSetup {
  home: string;
  configPath: string;
  /** Environment for CLI children: the config file and data folder. */
  env: NodeJS.ProcessEnv;
}

export function writeFakeSetup(fake: FakeOAuth, home: string, extra: ConfigInput = {}): FakeSetup {
  const configPath = join(tempDir(), 'grantd.yaml');
  writeFileSync(configPath, stringify(fake.config({ ...extra, home })));
  return { home, configPath, env: { GRANTD_CONFIG: configPath, GRANTD_HOME: home } };
}

/**
 * Runs `grantd connect` to the end as a script would: reads the printed URL,
 * approves with plain GETs and follows the redirect to the loopback
 * listener. Resolves with the grant id printed on stdout.
 */
export async function connectWithFake(
  fake: FakeOAuth,
  setup: FakeSetup,
  args: string[],
): Promise<string> {
  const run = startConnect(['fake', '--no-browser', '--timeout', '20', ...args], setup.env);
  const callback = await fake.approve(await run.url);
  const page = await fetch(callback);
  await page.text();
  const result = await run.done;
  if (result.code !== 0) throw new Error(`connect failed (${result.code}):\n${result.stderr}`);
  return result.stdout.trim();
}
