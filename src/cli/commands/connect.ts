import type { ArgumentsCamelCase } from 'yargs';

import type { LoadedConfig } from '../../config/load.js';
import { parseScopes } from '../../oauth/authorize-url.js';
import { CallbackTimeout } from '../../oauth/connect/loopback.js';
import { authorize, ConnectError, reasonOf, type Authorization } from '../../oauth/connect/flow.js';
import { errorPage, successPage } from '../../oauth/connect/pages.js';
import { grantDetails, readPrincipal } from '../../oauth/grant-details.js';
import { joinScopes, TokenClient, type TokenSet } from '../../oauth/token-client.js';
import { toCredential } from '../../oauth/token-response.js';
import type { Provider } from '../../providers/registry.js';
import type { OAuthSpec } from '../../providers/schema.js';
import { Upstream } from '../../proxy/upstream.js';
import type { App } from '../../store/apps.js';
import { StoreConflict } from '../../store/apps.js';
import { isValidAlias, type Grant, type GrantRepair } from '../../store/grants.js';
import type { Credential, Vault } from '../../vault/vault.js';
import type { GlobalArgs } from '../cli.js';
import { fail, requireApp, withContext, type CliContext } from '../context.js';
import { EXIT } from '../exit.js';
import type { Policy } from '../../grants/policy.js';
import { readParams, readPolicy, requireProvider, type PolicyArgs } from './grant.js';

interface ConnectArgs extends GlobalArgs, PolicyArgs {
  provider: string;
  app: string;
  alias?: string;
  scopes?: string;
  param?: string[];
  noBrowser?: boolean;
  /** yargs reads `--no-browser` as the negation of `browser` as well. */
  browser?: boolean;
  timeout?: number;
  port?: number;
}

/** How long a userinfo call may take before connect goes on without a principal. */
const PRINCIPAL_TIMEOUT_MS = 15_000;

/**
 * `grantd connect PROVIDER --app NAME`: OAuth consent in the browser, then
 * the tokens into the vault and the grant into the store. Prints only the
 * grant id on stdout. Connecting an alias the app already has for this
 * provider repairs that grant in place: same id, new tokens, active again.
 */
export async function connect(args: ArgumentsCamelCase<ConnectArgs>): Promise<number> {
  const timeout = args.timeout ?? 300;
  if (!Number.isFinite(timeout) || timeout <= 0) {
    fail('--timeout: expected a positive number of seconds', EXIT.usage);
  }
  if (args.alias !== undefined && !isValidAlias(args.alias)) {
    fail(
      `alias ${JSON.stringify(args.alias)} is not valid: letters, digits, ., _ and -, starting with a letter or digit`,
      EXIT.usage,
    );
  }
  await withContext(args.config, async (ctx) => {
    const provider = requireProvider(ctx, args.provider);
    const oauth = requireOAuth(provider, args.app);
    requireClient(ctx.config, provider);
    const app = requireApp(ctx, args.app);
    const params = readParams(provider, args.param ?? []);
    const policy = readPolicy(args);
    const scopes = parseScopes(args.scopes, oauth.scopes);
    const existing = repairTarget(ctx, app, provider, args.alias);
    const vault = await ctx.vault();

    const upstream = openUpstream(ctx.config);
    try {
      const tokens = new TokenClient(upstream);
      const request: ConnectRequest = {
        ctx,
        vault,
        upstream,
        provider,
        app,
        params,
        policy,
        existing,
      };
      if (provider.spec.auth === 'oauth2_client_credentials') {
        await connectAppOnly(request, tokens, joinScopes(scopes, oauth.scope_separator));
        return;
      }
      const openBrowser = args.noBrowser !== true && args.browser !== false;
      await connectWithConsent(request, tokens, {
        scopes,
        openBrowser,
        timeout,
        alias: args.alias,
        port: args.port ?? ctx.config.providers[provider.spec.id]?.redirect_port ?? 0,
      });
    } finally {
      upstream.close();
    }
  });
  return EXIT.ok;
}

interface ConnectRequest {
  ctx: CliContext;
  vault: Vault;
  upstream: Upstream;
  provider: Provider;
  app: App;
  params: Record<string, string>;
  /** Applies to a new grant; a repaired one keeps the rules it had. */
  policy: Policy;
  existing: Grant | undefined;
}

async function connectWithConsent(
  request: ConnectRequest,
  tokens: TokenClient,
  options: {
    scopes: string[];
    openBrowser: boolean;
    timeout: number;
    alias: string | undefined;
    port: number;
  },
): Promise<void> {
  const { provider } = request;
  let auth: Authorization;
  try {
    auth = await authorize({
      provider,
      params: request.params,
      scopes: options.scopes,
      openBrowser: options.openBrowser,
      timeoutSeconds: options.timeout,
      redirectPort: options.port,
      tokens,
      say: (line) => process.stderr.write(`${line}\n`),
    });
  } catch (error) {
    if (error instanceof CallbackTimeout) {
      fail(
        `${error.message}; nothing was stored. Run grantd connect again (with --no-browser to open the URL yourself, --timeout to wait longer)`,
      );
    }
    if (error instanceof ConnectError) fail(error.message);
    throw error;
  }

  try {
    const details = grantDetails(provider.spec, auth.tokens, auth.callback);
    const values = { ...request.params, ...details.kept };
    const principal = await principalOrWarn(request, auth.tokens, values);
    const grant = await saveGrant(request, {
      alias: options.alias,
      credential: toCredential(auth.tokens),
      repair: {
        principal,
        params: values,
        extraHosts: details.extraHosts,
        scopes: auth.tokens.scope ?? joinedScopes(provider, options.scopes),
      },
    });
    await auth.finish(successPage(provider.spec.name));
    report(request, grant);
  } catch (error) {
    await auth.finish(errorPage(500, 'Connecting failed', 'grantd could not store the grant.'));
    throw error;
  }
}

/** Client-credentials providers need no browser: the client's own token is the grant. */
async function connectAppOnly(
  request: ConnectRequest,
  tokens: TokenClient,
  scope: string,
): Promise<void> {
  let set: TokenSet;
  try {
    set = await tokens.clientCredentials(request.provider, request.params, scope || undefined);
  } catch (error) {
    fail(`the token endpoint refused the client: ${reasonOf(error)}`);
  }
  const principal = await principalOrWarn(request, set, request.params);
  const grant = await saveGrant(request, {
    alias: undefined,
    credential: toCredential(set),
    repair: { principal, params: request.params, extraHosts: [], scopes: scope || undefined },
  });
  report(request, grant);
}

/** The principal, or a warning and none: the tokens work whether or not it can be read. */
async function principalOrWarn(
  request: ConnectRequest,
  set: TokenSet,
  values: Record<string, string>,
): Promise<string | undefined> {
  const { provider, existing } = request;
  try {
    const principal = await readPrincipal(
      provider.spec,
      set,
      values,
      request.upstream,
      PRINCIPAL_TIMEOUT_MS,
    );
    return principal ?? existing?.principal;
  } catch (error) {
    process.stderr.write(
      `warning: could not read which ${provider.spec.name} account this is (${reasonOf(error)}); the grant works without it\n`,
    );
    return existing?.principal;
  }
}

/**
 * Stores the grant: a new row then its secret (the row is removed again if
 * the vault write fails), or, for a repair, the secret under a new version
 * and then the row's new details and status.
 */
async function saveGrant(
  request: ConnectRequest,
  input: { alias: string | undefined; credential: Credential; repair: GrantRepair },
): Promise<Grant> {
  const { ctx, vault, existing } = request;
  const grants = ctx.store.grants;
  if (existing !== undefined) {
    const version = grants.bumpSecretVersion(existing.id);
    await putOrFail(vault, existing.id, input.credential, version);
    grants.repair(existing.id, input.repair);
    return grants.byId(existing.id) as Grant;
  }

  let grant: Grant;
  try {
    grant = grants.create({
      appId: request.app.id,
      provider: request.provider.spec.id,
      alias: input.alias,
      kind: 'oauth',
      policy: request.policy,
      ...input.repair,
    });
  } catch (error) {
    if (error instanceof StoreConflict) {
      fail(
        `app ${request.app.name} got a grant with alias ${input.alias} meanwhile; connect again`,
      );
    }
    throw error;
  }
  try {
    await putOrFail(vault, grant.id, input.credential, grant.secretVersion);
  } catch (error) {
    grants.delete(grant.id);
    throw error;
  }
  return grant;
}

async function putOrFail(
  vault: Vault,
  id: string,
  credential: Credential,
  version: number,
): Promise<void> {
  try {
    await vault.put(id, credential, version);
  } catch (error) {
    fail(`could not store the tokens: ${(error as Error).message}`);
  }
}

function report(request: ConnectRequest, grant: Grant): void {
  const { provider, app, existing } = request;
  const as = grant.principal === undefined ? '' : ` as ${grant.principal}`;
  const alias = grant.alias === undefined ? '' : ` (alias ${grant.alias})`;
  const repaired = existing === undefined ? '' : ' (reconnected: same id, active again)';
  process.stdout.write(`${grant.id}\n`);
  process.stderr.write(
    `connected ${provider.spec.name}${as}: grant ${grant.id}${alias} of app ${app.name}${repaired}\n` +
      `Use it with the header Grantd-Grant: ${grant.alias ?? grant.id}\n`,
  );
}

function requireOAuth(provider: Provider, appName: string): OAuthSpec {
  const { spec } = provider;
  if ((spec.auth === 'oauth2' || spec.auth === 'oauth2_client_credentials') && spec.oauth) {
    return spec.oauth;
  }
  const what = spec.auth === 'basic' ? 'a user name and secret pair' : 'an API key';
  fail(
    `${spec.id} takes ${what}, not OAuth; store it with: grantd grant add ${spec.id} --app ${appName} --token-stdin`,
  );
}

function requireClient(config: LoadedConfig, provider: Provider): void {
  if (provider.client !== undefined) return;
  const id = provider.spec.id;
  const where =
    config.source === undefined ? 'the config file (--config or GRANTD_CONFIG)' : config.source;
  fail(
    `${id} has no OAuth client configured. Register an OAuth app with ${provider.spec.name} ` +
      `(redirect URI http://127.0.0.1/callback; grantd picks the port), then set ` +
      `providers.${id}.client_id and providers.${id}.client_secret in ${where}`,
  );
}

/** The app's grant under `alias`, to repair; refuses an alias held by another provider's grant. */
function repairTarget(
  ctx: CliContext,
  app: App,
  provider: Provider,
  alias: string | undefined,
): Grant | undefined {
  if (alias === undefined) return undefined;
  const existing = ctx.store.grants.find(app.id, alias);
  if (existing === undefined || existing.provider === provider.spec.id) return existing;
  fail(
    `app ${app.name} already has a ${existing.provider} grant with alias ${alias}; pick another alias or revoke that grant first`,
  );
}

function joinedScopes(provider: Provider, scopes: string[]): string | undefined {
  const oauth = provider.spec.oauth as OAuthSpec;
  return scopes.length === 0 ? undefined : joinScopes(scopes, oauth.scope_separator);
}

function openUpstream(config: LoadedConfig): Upstream {
  try {
    return new Upstream(config);
  } catch (error) {
    fail(`cannot read upstream.ca_file: ${(error as Error).message}`);
  }
}
