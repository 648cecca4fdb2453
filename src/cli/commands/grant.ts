import type { ArgumentsCamelCase } from 'yargs';

import { parseMethods, parsePaths, type Policy } from '../../grants/policy.js';
import { ParamError, resolveParams } from '../../providers/params.js';
import type { Provider } from '../../providers/registry.js';
import { StoreConflict } from '../../store/apps.js';
import { GRANT_ALIAS, GRANT_ID, type Grant, type GrantKind } from '../../store/grants.js';
import type { Credential } from '../../vault/vault.js';
import type { GlobalArgs } from '../cli.js';
import { fail, requireApp, withContext, type CliContext } from '../context.js';
import { EXIT } from '../exit.js';
import { readStdin } from '../stdin.js';
import { formatTable, formatTime, printJsonLines } from '../table.js';

interface AddArgs extends GlobalArgs, PolicyArgs {
  provider: string;
  app: string;
  alias?: string;
  principal?: string;
  param?: string[];
  tokenStdin?: boolean;
}

/** `--methods` and `--paths`, which limit what a grant may be used for. */
export interface PolicyArgs {
  methods?: string[];
  paths?: string[];
}

/** The grant's policy from the flags; a usage error names the bad item. */
export function readPolicy(args: PolicyArgs): Policy {
  const policy: Policy = {};
  if (args.methods?.length) {
    const methods = parseMethods(args.methods);
    if (typeof methods === 'string') fail(`--methods: ${methods}`, EXIT.usage);
    policy.methods = methods;
  }
  if (args.paths?.length) {
    const paths = parsePaths(args.paths);
    if (typeof paths === 'string') fail(`--paths: ${paths}`, EXIT.usage);
    policy.paths = paths;
  }
  return policy;
}

/** Visible ASCII only: a token with spaces or control bytes would corrupt a header. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

export async function grantAdd(args: ArgumentsCamelCase<AddArgs>): Promise<void> {
  if (!args.tokenStdin) {
    fail(
      'pass the token on stdin with --token-stdin (never as an argument, where ps and shell history see it)',
      EXIT.usage,
    );
  }
  const token = (await readStdin(`Paste the ${args.provider} token`)).trim();
  if (token === '') fail('no token on stdin', EXIT.usage);
  if (!TOKEN_CHARS.test(token)) {
    fail('the token contains spaces or control characters; check what was piped in', EXIT.usage);
  }
  await storeGrant(args, 'static', { kind: 'static', token });
}

export async function grantImport(args: ArgumentsCamelCase<AddArgs>): Promise<void> {
  const text = await readStdin(`Paste the ${args.provider} token set as JSON`);
  await storeGrant(args, 'oauth', parseTokenSet(text));
}

/** Reads `{access_token, refresh_token?, expires_in? | expires_at?, token_type?, scope?}`. */
export function parseTokenSet(text: string, now = Date.now()): Credential {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail(
      'stdin is not JSON; expected {"access_token": "...", "refresh_token": "...", "expires_in": 3600}',
      EXIT.usage,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail('expected a JSON object with access_token', EXIT.usage);
  }
  const set = value as Record<string, unknown>;
  const accessToken = set.access_token;
  if (typeof accessToken !== 'string' || !TOKEN_CHARS.test(accessToken)) {
    fail('access_token: required, a string of visible characters', EXIT.usage);
  }
  const refresh = set.refresh_token;
  if (refresh !== undefined && (typeof refresh !== 'string' || !TOKEN_CHARS.test(refresh))) {
    fail('refresh_token: must be a string of visible characters', EXIT.usage);
  }
  const credential: Credential = { kind: 'oauth', access_token: accessToken, obtained_at: now };
  if (refresh !== undefined) credential.refresh_token = refresh;
  const expiresAt = readExpiry(set, now);
  if (expiresAt !== undefined) credential.expires_at = expiresAt;
  if (typeof set.token_type === 'string') credential.token_type = set.token_type;
  if (typeof set.scope === 'string') credential.scope = set.scope;
  return credential;
}

function readExpiry(set: Record<string, unknown>, now: number): number | undefined {
  const { expires_in: expiresIn, expires_at: expiresAt } = set;
  if (expiresIn !== undefined) {
    if (typeof expiresIn !== 'number' || !(expiresIn > 0)) {
      fail('expires_in: must be a positive number of seconds', EXIT.usage);
    }
    return now + expiresIn * 1000;
  }
  if (expiresAt === undefined) return undefined;
  // Seconds since the epoch (as OAuth libraries store it), or an ISO date.
  if (typeof expiresAt === 'number' && expiresAt > 0) return expiresAt * 1000;
  if (typeof expiresAt === 'string' && !Number.isNaN(Date.parse(expiresAt))) {
    return Date.parse(expiresAt);
  }
  fail('expires_at: seconds since the epoch, or an ISO 8601 date', EXIT.usage);
}

async function storeGrant(args: AddArgs, kind: GrantKind, credential: Credential): Promise<void> {
  if (args.alias !== undefined && (!GRANT_ALIAS.test(args.alias) || GRANT_ID.test(args.alias))) {
    fail(
      `alias ${JSON.stringify(args.alias)} is not valid: letters, digits, ., _ and -, starting with a letter or digit`,
      EXIT.usage,
    );
  }
  await withContext(args.config, async (ctx) => {
    const provider = requireProvider(ctx, args.provider);
    const app = requireApp(ctx, args.app);
    const params = readParams(provider, args.param ?? []);
    const policy = readPolicy(args);
    const vault = await ctx.vault();

    let grant: Grant;
    try {
      grant = ctx.store.grants.create({
        appId: app.id,
        provider: provider.spec.id,
        alias: args.alias,
        principal: args.principal,
        kind,
        params,
        scopes: credential.kind === 'oauth' ? credential.scope : undefined,
        policy,
      });
    } catch (error) {
      if (error instanceof StoreConflict) {
        fail(
          `app ${app.name} already has a grant with alias ${args.alias} (grantd grant revoke ${args.alias} --app ${app.name} frees it)`,
        );
      }
      throw error;
    }
    try {
      await vault.put(grant.id, credential, grant.secretVersion);
    } catch (error) {
      // No grant without its secret: a row pointing at nothing would only fail later.
      ctx.store.grants.delete(grant.id);
      fail(`could not store the credential: ${(error as Error).message}`);
    }
    process.stdout.write(`${grant.id}\n`);
    process.stderr.write(
      `added ${provider.spec.name} grant ${grant.id}${grant.alias ? ` (alias ${grant.alias})` : ''} for app ${app.name}, in the ${vault.kind} vault\n` +
        `Use it with the header Grantd-Grant: ${grant.alias ?? grant.id}\n`,
    );
  });
}

export function requireProvider(ctx: CliContext, id: string): Provider {
  const provider = ctx.providers.get(id);
  if (!provider) fail(`no provider ${id} (grantd provider list shows them)`);
  return provider;
}

/** `--param name=value` against the provider's declared params and their patterns. */
export function readParams(provider: Provider, given: string[]): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of given) {
    const eq = item.indexOf('=');
    if (eq === -1) fail(`--param ${item}: expected name=value`, EXIT.usage);
    pairs[item.slice(0, eq)] = item.slice(eq + 1);
  }
  try {
    return resolveParams(provider.spec, pairs);
  } catch (error) {
    if (!(error instanceof ParamError)) throw error;
    if (error.kind === 'invalid') fail(`--param ${error.param}: ${error.message}`, EXIT.usage);
    if (error.kind === 'missing') {
      fail(`${error.message}: add --param ${error.param}=VALUE`, EXIT.usage);
    }
    fail(error.message, EXIT.usage);
  }
}

type RefArgs = ArgumentsCamelCase<GlobalArgs & { grant: string; app?: string; json?: boolean }>;

/** Finds a grant by id, or by alias within `--app` (or the only app that has the alias). */
function findGrant(ctx: CliContext, ref: string, appName: string | undefined): Grant {
  if (appName !== undefined) {
    const grant = ctx.store.grants.find(requireApp(ctx, appName).id, ref);
    if (!grant) fail(`app ${appName} has no grant ${ref}`);
    return grant;
  }
  const matches = ctx.store.grants.list().filter((g) => g.id === ref || g.alias === ref);
  if (matches.length === 0) fail(`no grant ${ref} (grantd grant list shows them)`);
  if (matches.length > 1) fail(`alias ${ref} is used by several apps; add --app NAME`, EXIT.usage);
  return matches[0] as Grant;
}

function grantJson(grant: Grant): Record<string, unknown> {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    id: grant.id,
    app: grant.appName,
    provider: grant.provider,
    alias: grant.alias ?? null,
    principal: grant.principal ?? null,
    kind: grant.kind,
    status: grant.status,
    params: grant.params,
    scopes: grant.scopes ?? null,
    policy: grant.policy,
    created_at: iso(grant.createdAt),
    updated_at: iso(grant.updatedAt),
    last_used_at: iso(grant.lastUsedAt),
  };
}

export async function grantList(
  args: ArgumentsCamelCase<GlobalArgs & { app?: string; json?: boolean }>,
) {
  await withContext(args.config, (ctx) => {
    const appId = args.app === undefined ? undefined : requireApp(ctx, args.app).id;
    const grants = ctx.store.grants.list(appId);
    if (args.json) {
      printJsonLines(grants.map(grantJson));
      return;
    }
    if (grants.length === 0) {
      process.stderr.write('no grants; grantd grant add or grantd connect makes one\n');
      return;
    }
    process.stdout.write(
      formatTable(
        ['ID', 'APP', 'PROVIDER', 'ALIAS', 'PRINCIPAL', 'STATUS', 'CREATED', 'LAST USED'],
        grants.map((g) => [
          g.id,
          g.appName,
          g.provider,
          g.alias ?? '-',
          g.principal ?? '-',
          g.status,
          formatTime(g.createdAt),
          formatTime(g.lastUsedAt),
        ]),
      ),
    );
  });
}

export async function grantShow(args: RefArgs): Promise<void> {
  await withContext(args.config, (ctx) => {
    const grant = findGrant(ctx, args.grant, args.app);
    const info = grantJson(grant);
    if (args.json) {
      printJsonLines([info]);
      return;
    }
    const lines = Object.entries(info).map(([k, v]) => {
      const text = v === null ? '-' : typeof v === 'string' ? v : JSON.stringify(v);
      return `${k.padEnd(13)}${text}`;
    });
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

export async function grantRevoke(args: RefArgs): Promise<void> {
  await withContext(args.config, async (ctx) => {
    const grant = findGrant(ctx, args.grant, args.app);
    // The secret goes first: if the row outlived it, the grant could only fail.
    await (await ctx.vault()).delete(grant.id);
    ctx.store.grants.delete(grant.id);
    process.stderr.write(
      `revoked ${grant.id}${grant.alias ? ` (${grant.alias})` : ''} of app ${grant.appName}; its secret is deleted\n`,
    );
  });
}
