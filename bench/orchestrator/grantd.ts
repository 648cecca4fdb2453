import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { stringify } from 'yaml';

import { TOKEN_PATH } from '../protocol.js';
import { BENCH_DIST, spawnNode, type Child } from './children.js';

/** The CLI entry, as `npm run build` leaves it. */
export const CLI = join(BENCH_DIST, '..', 'src', 'cli', 'main.js');

/** The host names the benchmark uses; all resolve to the upstream. */
export const HOSTS = {
  /** A custom provider's host: intercepted, and where the grant injects. */
  inject: 'api.bench.test',
  /** Listed under `intercept:` only: TLS terminated, no grant. */
  intercept: 'plain.bench.test',
  /** Not intercepted: a blind CONNECT tunnel. */
  tunnel: 'tunnel.bench.test',
  /** The OAuth provider's API host, where the storm's grant injects. */
  oauthApi: 'api-oauth.bench.test',
  /** The OAuth provider's token endpoint, which only grantd itself calls. */
  oauthToken: 'auth-oauth.bench.test',
} as const;

/** The custom oauth2 provider the refresh storm's grant belongs to. */
export const OAUTH_PROVIDER = 'bench-oauth';

/** The daemon-wide `audit.mode`; each has its own config file on the same data folder. */
export type AuditMode = 'best_effort' | 'required';

export interface GrantdSetup {
  home: string;
  /** `audit.mode: best_effort` (the default), for every run but `inject-required`. */
  configPath: string;
  /** The same config with `audit.mode: required`. */
  requiredConfigPath: string;
  proxyPort: number;
  adminPort: number;
}

/** The storm provider's OAuth client, and the token pair its grant is imported with. */
export interface BenchOAuth {
  clientId: string;
  clientSecret: string;
  /** Already expired at import, so the first request through grantd must refresh. */
  expiredAccessToken: string;
  refreshToken: string;
}

export function newBenchOAuth(): BenchOAuth {
  const secret = (prefix: string) => `${prefix}_${randomBytes(16).toString('hex')}`;
  return {
    clientId: 'grantd-bench',
    clientSecret: secret('cs'),
    expiredAccessToken: secret('at_expired'),
    refreshToken: secret('rt'),
  };
}

/** A port that was free a moment ago; the config needs fixed ports, see writeConfig. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Writes the config a user would: fixed loopback ports (at log level warn
 * the `grantd listening` line that names ephemeral ports is not printed, and
 * readiness is timed from the outside anyway), every bench host resolved to
 * the upstream, the bench CA as an extra root, a custom api_key provider and
 * a custom oauth2 one. A second file differs only in `audit.mode: required`.
 * `keyInFlight` is how many requests one key may have in flight: the storm
 * needs all of its requests admitted at once.
 */
export async function writeConfig(
  dir: string,
  upstreamPort: number,
  caFile: string,
  oauth: BenchOAuth,
  keyInFlight: number,
): Promise<GrantdSetup> {
  const setup: GrantdSetup = {
    home: join(dir, 'home'),
    configPath: join(dir, 'grantd.yaml'),
    requiredConfigPath: join(dir, 'grantd-required.yaml'),
    proxyPort: await freePort(),
    adminPort: await freePort(),
  };
  const upstream = `127.0.0.1:${upstreamPort}`;
  const config = {
    listen: `127.0.0.1:${setup.proxyPort}`,
    admin: `127.0.0.1:${setup.adminPort}`,
    home: setup.home,
    // The key outside the data folder, as grantd asks (a key beside its vault warns at start).
    vault: { backend: 'file', key: `file:${writeVaultKey(dir)}` },
    upstream: { ca_file: caFile },
    resolve: Object.fromEntries(Object.values(HOSTS).map((host) => [`${host}:443`, upstream])),
    intercept: [HOSTS.intercept],
    providers: {
      bench: {
        auth: 'api_key',
        display_name: 'Benchmark API',
        hosts: [HOSTS.inject],
        inject: { header: 'Authorization', format: 'Bearer {token}' },
      },
      [OAUTH_PROVIDER]: {
        auth: 'oauth2',
        display_name: 'Benchmark OAuth API',
        // Never visited: the grant is imported, not connected.
        authorize_url: `https://${HOSTS.oauthToken}/authorize`,
        token_url: `https://${HOSTS.oauthToken}${TOKEN_PATH}`,
        client_id: oauth.clientId,
        client_secret: oauth.clientSecret,
        hosts: [HOSTS.oauthApi],
      },
    },
    // The default (256) would answer most of the storm 429. The limiter stays
    // on, so every row still pays for its bookkeeping as users' requests do.
    limits: { per_key: { concurrency: keyInFlight } },
    log: { level: 'warn', format: 'json' },
    shutdown: { grace_ms: 1_000 },
  };
  writeFileSync(setup.configPath, stringify(config));
  writeFileSync(setup.requiredConfigPath, stringify({ ...config, audit: { mode: 'required' } }));
  return setup;
}

function writeVaultKey(dir: string): string {
  const path = join(dir, 'vault.key');
  writeFileSync(path, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  return path;
}

/** Runs one CLI command against the bench config; stdout, trimmed, or an error with stderr. */
export async function runCli(setup: GrantdSetup, args: string[], input = ''): Promise<string> {
  const child = spawn(process.execPath, [CLI, ...args, '--config', setup.configPath], {
    env: { ...process.env, GRANTD_HOME: setup.home },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin.end(input);
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`grantd ${args.join(' ')} exited ${code}:\n${stderr}`);
  return stdout.trim();
}

/** A running `grantd start`. */
export interface RunningGrantd {
  child: Child;
  pid: number;
  proxyUrl: string;
  /** Milliseconds from spawn to the first 200 from /readyz. */
  readyMs: number;
  stop(): Promise<void>;
}

/** Starts grantd as users do, `grantd start --config FILE`, and waits for /readyz. */
export async function startGrantd(
  setup: GrantdSetup,
  cpu?: number,
  audit: AuditMode = 'best_effort',
): Promise<RunningGrantd> {
  const began = process.hrtime.bigint();
  const configPath = audit === 'required' ? setup.requiredConfigPath : setup.configPath;
  const child = spawnNode(CLI, ['start', '--config', configPath], {
    cpu,
    env: { GRANTD_HOME: setup.home },
    // BENCH_GRANTD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles grantd alone.
    nodeArgs: process.env.BENCH_GRANTD_NODE_ARGS?.split(' ').filter(Boolean),
  });
  await waitReady(setup.adminPort, child);
  const readyMs = Number(process.hrtime.bigint() - began) / 1e6;
  return {
    child,
    pid: child.pid,
    proxyUrl: `http://127.0.0.1:${setup.proxyPort}`,
    readyMs,
    stop: () => stopChild(child),
  };
}

async function waitReady(adminPort: number, child: Child): Promise<void> {
  const deadline = Date.now() + 30_000;
  let exitCode: number | null | undefined;
  void child.exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(`grantd exited (${exitCode}) before it was ready:\n${child.output()}`);
    }
    if ((await readyzStatus(adminPort)) === 200) return;
    await sleep(5);
  }
  throw new Error(`grantd was not ready within 30 s:\n${child.output()}`);
}

function readyzStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/readyz', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', () => resolve(0));
    req.setTimeout(1_000, () => req.destroy());
  });
}

/** SIGTERM, as a supervisor would; SIGKILL if it has not gone after its grace. */
async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 5_000);
  await child.exited;
  clearTimeout(timer);
}

/** What the CLI set up for the runs. */
export interface Credentials {
  /** The app key, sent as the proxy password. */
  key: string;
  grantId: string;
  /** The storm's OAuth grant, imported with an expired access token. */
  oauthGrantId: string;
  /** grantd's CA certificate, which clients trust for intercepted hosts. */
  grantdCaFile: string;
}

/**
 * `app create`, `key mint`, `grant add`, `grant import`, `ca path`: what a
 * user does before the first call. The OAuth token set is imported as one
 * migrated from another tool would be, its `expires_at` an hour ago.
 */
export async function provision(
  setup: GrantdSetup,
  token: string,
  oauth: BenchOAuth,
): Promise<Credentials> {
  await runCli(setup, ['app', 'create', 'bench']);
  const key = await runCli(setup, ['key', 'mint', '--app', 'bench']);
  const grantId = await runCli(
    setup,
    ['grant', 'add', 'bench', '--app', 'bench', '--alias', 'bench-token', '--token-stdin'],
    token,
  );
  const tokenSet = {
    access_token: oauth.expiredAccessToken,
    refresh_token: oauth.refreshToken,
    token_type: 'Bearer',
    expires_at: Math.floor(Date.now() / 1000) - 3_600,
  };
  const oauthGrantId = await runCli(
    setup,
    ['grant', 'import', OAUTH_PROVIDER, '--app', 'bench', '--alias', 'storm-token'],
    JSON.stringify(tokenSet),
  );
  const grantdCaFile = await runCli(setup, ['ca', 'path']);
  if (!/^gk_/.test(key)) throw new Error(`key mint printed ${JSON.stringify(key)}, not a key`);
  if (!/^gr_/.test(grantId)) throw new Error(`grant add printed ${JSON.stringify(grantId)}`);
  if (!/^gr_/.test(oauthGrantId)) {
    throw new Error(`grant import printed ${JSON.stringify(oauthGrantId)}`);
  }
  return { key, grantId, oauthGrantId, grantdCaFile };
}
