import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { request } from 'node:http';
import { createServer as createNetServer } from 'node:net';

import type { ArgumentsCamelCase } from 'yargs';

import { authorityPaths, readAuthorityCertificate } from '../../ca/authority.js';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { systemRoots } from '../../ca/trust.js';
import { ConfigError } from '../../errors.js';
import { ProviderRegistry } from '../../providers/registry.js';
import { DATABASE_FILE } from '../../store/database.js';
import { Store } from '../../store/store.js';
import { Vault } from '../../vault/vault.js';
import { cliLogger } from '../context.js';
import { parseHostPort, type HostPort } from '../../util/hosts.js';
import type { GlobalArgs } from '../cli.js';
import { EXIT } from '../exit.js';

type Status = 'ok' | 'warn' | 'fail';

interface Finding {
  check: string;
  status: Status;
  detail: string;
  fix?: string;
}

/** Checks the setup; exits non-zero when any check fails (warnings do not count). */
export async function doctor(
  args: ArgumentsCamelCase<GlobalArgs & { json: boolean }>,
): Promise<number> {
  const findings: Finding[] = [];
  let config: LoadedConfig | undefined;
  try {
    config = loadConfig({ file: args.config });
    findings.push({ check: 'config', status: 'ok', detail: config.source ?? 'built-in defaults' });
  } catch (error) {
    const detail =
      error instanceof ConfigError ? error.issues.join('; ') : (error as Error).message;
    findings.push({ check: 'config', status: 'fail', detail, fix: 'correct the keys named above' });
  }

  if (config) {
    findings.push(checkDataFolder(config.home));
    findings.push(checkAuthority(config.home));
    findings.push(checkSystemTrust(config.home));
    findings.push(checkClock(config.home));
    findings.push(...checkProviders(config));
    findings.push(...(await checkStoreAndVault(config)));
    const daemon = await checkDaemon(config);
    findings.push(daemon);
    if (daemon.status !== 'ok') findings.push(...(await checkListenersFree(config)));
  }

  const failed = findings.some((f) => f.status === 'fail');
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ ok: !failed, checks: findings })}\n`);
  } else {
    for (const f of findings) {
      const mark = f.status === 'ok' ? 'ok  ' : f.status === 'warn' ? 'warn' : 'FAIL';
      process.stdout.write(`${mark}  ${f.check.padEnd(8)} ${f.detail}\n`);
      if (f.fix) process.stdout.write(`      ${''.padEnd(8)} fix: ${f.fix}\n`);
    }
  }
  return failed ? EXIT.failure : EXIT.ok;
}

function checkDataFolder(home: string): Finding {
  try {
    mkdirSync(home, { recursive: true, mode: 0o700 });
    accessSync(home, constants.W_OK);
    return { check: 'data', status: 'ok', detail: `${home} is writable` };
  } catch (error) {
    return {
      check: 'data',
      status: 'fail',
      detail: `${home} is not writable (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      fix: 'set GRANTD_HOME or `home:` to a folder this user owns',
    };
  }
}

function checkAuthority(home: string): Finding {
  const paths = authorityPaths(home);
  let cert;
  try {
    cert = readAuthorityCertificate(home);
  } catch (error) {
    return {
      check: 'ca',
      status: 'fail',
      detail: `${paths.cert} is unreadable: ${(error as Error).message}`,
      fix: `move ${paths.dir} aside; grantd start makes a new CA`,
    };
  }
  if (!cert) {
    return {
      check: 'ca',
      status: 'fail',
      detail: `no CA at ${paths.cert}`,
      fix: 'run grantd start (or grantd ca path) to create it',
    };
  }
  try {
    const mode = statSync(paths.key).mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      return {
        check: 'ca',
        status: 'fail',
        detail: `${paths.key} has mode ${mode.toString(8)}`,
        fix: `chmod 600 ${paths.key}`,
      };
    }
  } catch {
    return {
      check: 'ca',
      status: 'fail',
      detail: `the CA key ${paths.key} is missing`,
      fix: `move ${paths.dir} aside; grantd start makes a new CA`,
    };
  }
  return { check: 'ca', status: 'ok', detail: `${paths.cert} SHA-256 ${cert.fingerprint256}` };
}

/**
 * Whether the system trust store holds the CA. Not required (`grantd env`
 * points programs at the CA), so its absence is a hint, not a failure.
 */
function checkSystemTrust(home: string): Finding {
  const cert = safeReadCert(home);
  if (!cert) return { check: 'trust', status: 'warn', detail: 'no CA yet' };
  const normalize = (pem: string) => pem.replace(/\s+/g, '');
  const trusted = systemRoots().some((root) => normalize(root) === normalize(cert.pem));
  if (trusted)
    return { check: 'trust', status: 'ok', detail: 'the system trust store holds the grantd CA' };
  return {
    check: 'trust',
    status: 'warn',
    detail:
      'the system trust store does not hold the grantd CA; programs trust it through grantd env / grantd run',
    fix: `to trust it system-wide on Debian: sudo cp "$(grantd ca path)" /usr/local/share/ca-certificates/grantd.crt && sudo update-ca-certificates`,
  };
}

/** A clock far off makes fresh leaf certificates look expired or not yet valid. */
function checkClock(home: string): Finding {
  const cert = safeReadCert(home);
  const now = Date.now();
  if (cert) {
    const notBefore = Date.parse(new X509Certificate(cert.pem).validFrom);
    if (now < notBefore - 300_000) {
      return {
        check: 'clock',
        status: 'fail',
        detail: `the clock (${new Date(now).toISOString()}) is before the CA was made`,
        fix: 'set the system clock (timedatectl set-ntp true)',
      };
    }
  }
  if (now < Date.parse('2026-01-01')) {
    return {
      check: 'clock',
      status: 'fail',
      detail: `the clock says ${new Date(now).toISOString()}`,
      fix: 'set the system clock',
    };
  }
  return { check: 'clock', status: 'ok', detail: new Date(now).toISOString() };
}

/** OAuth providers that grants or the config use need their client credentials. */
function checkProviders(config: LoadedConfig): Finding[] {
  const registry = new ProviderRegistry(config.providers);
  let inUse: string[] = [];
  try {
    const store = Store.open(config.home);
    try {
      inUse = store.grants.providersInUse();
    } finally {
      store.close();
    }
  } catch {
    // The store check reports this.
  }
  const ids = new Set([...Object.keys(config.providers), ...inUse]);
  const findings: Finding[] = [];
  for (const id of ids) {
    const provider = registry.get(id);
    if (!provider?.spec.oauth) continue;
    const missing = [
      provider.client === undefined ? `providers.${id}.client_id` : undefined,
      provider.client?.secret === undefined ? `providers.${id}.client_secret` : undefined,
    ].filter((key): key is string => key !== undefined);
    findings.push(
      missing.length === 0
        ? { check: 'provider', status: 'ok', detail: `${id}: client credentials configured` }
        : {
            check: 'provider',
            status: inUse.includes(id) ? 'fail' : 'warn',
            detail: `${id}: ${missing.join(' and ')} not set${inUse.includes(id) ? '; its grants cannot refresh' : ''}`,
            fix: `set ${missing.join(' and ')} in the config (\${ENV} or file:PATH for the secret)`,
          },
    );
  }
  return findings;
}

/** With no daemon answering, whether its listeners could bind. */
async function checkListenersFree(config: LoadedConfig): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const [name, text] of [
    ['listen', config.listen],
    ['admin', config.admin],
  ] as const) {
    const address = parseHostPort(text) as HostPort;
    const error = await tryBind(address);
    findings.push(
      error === undefined
        ? { check: 'port', status: 'ok', detail: `${name} ${text} is free` }
        : {
            check: 'port',
            status: 'fail',
            detail: `${name} ${text} cannot be bound (${error})`,
            fix:
              error === 'EADDRINUSE'
                ? `another program holds ${text}: stop it or set ${name}: in the config`
                : `set ${name}: to an address this machine has`,
          },
    );
  }
  return findings;
}

function tryBind(address: HostPort): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createNetServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    server.listen(address.port, address.host, () => server.close(() => resolve(undefined)));
  });
}

function safeReadCert(home: string): { pem: string } | undefined {
  try {
    return readAuthorityCertificate(home);
  } catch {
    return undefined;
  }
}

/** The store opens and migrates; the vault opens and can decrypt every grant's secret. */
async function checkStoreAndVault(config: LoadedConfig): Promise<Finding[]> {
  let store: Store;
  try {
    store = Store.open(config.home);
  } catch (error) {
    return [
      {
        check: 'store',
        status: 'fail',
        detail: `cannot open ${join(config.home, DATABASE_FILE)}: ${(error as Error).message}`,
        fix: 'check the file permissions and free disk space in the data folder',
      },
    ];
  }
  try {
    const findings: Finding[] = [];
    const grants = store.grants.list();
    const apps = store.apps.list().length;
    const keys = store.keys.list().filter((key) => key.revokedAt === undefined).length;
    const stale = grants.filter((grant) => grant.status === 'needs_reauth');
    findings.push({
      check: 'store',
      status: stale.length > 0 ? 'warn' : 'ok',
      detail: `${apps} apps, ${keys} active keys, ${grants.length} grants`,
      ...(stale.length > 0
        ? {
            fix: `connect again: ${stale.map((g) => `grantd connect ${g.provider} --app ${g.appName} --alias ${g.alias ?? '…'}`).join('; ')}`,
          }
        : {}),
    });

    const logger = cliLogger();
    const vault = await Vault.open(config, { logger });
    let unreadable = 0;
    for (const grant of grants) {
      try {
        if (!(await vault.get(grant.id, grant.secretVersion))) unreadable += 1;
      } catch {
        unreadable += 1;
      }
    }
    findings.push({
      check: 'vault',
      status: unreadable > 0 ? 'fail' : 'ok',
      detail: `${vault.kind}: ${vault.reason}${unreadable > 0 ? `; ${unreadable} grants' secrets cannot be read` : ''}`,
      ...(unreadable > 0
        ? { fix: 'check vault.key (file) or unlock the keychain; see the log line above' }
        : {}),
    });
    return findings;
  } catch (error) {
    return [{ check: 'vault', status: 'fail', detail: (error as Error).message }];
  } finally {
    store.close();
  }
}

async function checkDaemon(config: LoadedConfig): Promise<Finding> {
  const admin = parseHostPort(config.admin) as HostPort;
  const host = admin.host === '0.0.0.0' || admin.host === '' ? '127.0.0.1' : admin.host;
  const status = await getStatus(host, admin.port, '/readyz');
  if (status === 200)
    return {
      check: 'daemon',
      status: 'ok',
      detail: `ready on ${config.listen} (admin ${config.admin})`,
    };
  if (status === undefined) {
    return {
      check: 'daemon',
      status: 'warn',
      detail: `not running (nothing answers on ${config.admin})`,
      fix: 'grantd start',
    };
  }
  return {
    check: 'daemon',
    status: 'fail',
    detail: `admin ${config.admin}/readyz answered ${status}`,
    fix: "see the daemon's log",
  };
}

function getStatus(host: string, port: number, path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}
