import { parseMethods, parsePaths, type Policy } from '../../grants/policy.js';
import { ParamError, resolveParams } from '../../providers/params.js';
import type { Provider } from '../../providers/registry.js';
import { StoreConflict } from '../../store/apps.js';
import { isValidAlias, type Grant } from '../../store/grants.js';
import { optionalString, PortalError, Reply, requiredString } from '../http.js';
import { requireApp } from './apps.js';
import { iso, type ApiCall, type ApiRoute, type PortalDeps } from './context.js';

/** Grants: listed without secrets, a static credential added, revoked with its secret. */
export const GRANT_ROUTES: ApiRoute[] = [
  { method: 'GET', path: '/api/grants', run: listGrants },
  { method: 'POST', path: '/api/grants', run: addStaticGrant },
  { method: 'DELETE', path: '/api/grants/:id', run: revokeGrant },
];

/** Visible ASCII only, as `grantd grant add` takes: anything else would corrupt a header. */
const TOKEN_CHARS = /^[\x21-\x7e]{1,8192}$/;

function listGrants({ deps }: ApiCall) {
  const providers = deps.providers();
  const grants = deps.store.grants
    .list()
    .sort((a, b) => a.appName.localeCompare(b.appName) || a.provider.localeCompare(b.provider))
    .map((grant) => grantJson(grant, providers.get(grant.provider)));
  return { grants };
}

/** A grant for the page: names, state and times; never a secret. */
export function grantJson(grant: Grant, provider: Provider | undefined) {
  return {
    id: grant.id,
    app: grant.appName,
    provider: grant.provider,
    provider_name: provider?.spec.name ?? grant.provider,
    alias: grant.alias ?? null,
    principal: grant.principal ?? null,
    kind: grant.kind,
    status: grant.status,
    scopes: grant.scopes ?? null,
    policy: grant.policy,
    params: grant.params,
    created_at: iso(grant.createdAt),
    last_used_at: iso(grant.lastUsedAt),
    reconnect: reconnectCommand(grant, provider),
  };
}

/** The command that repairs an OAuth grant in place (same id), or null for static ones. */
export function reconnectCommand(grant: Grant, provider: Provider | undefined): string | null {
  if (grant.kind !== 'oauth' || provider?.spec.oauth === undefined) return null;
  const alias = grant.alias === undefined ? '' : ` --alias ${grant.alias}`;
  return `grantd connect ${grant.provider} --app ${grant.appName}${alias}`;
}

async function addStaticGrant({ deps, body }: ApiCall) {
  const input = await body();
  const app = requireApp(deps, requiredString(input, 'app'));
  const provider = requireProvider(deps, requiredString(input, 'provider'));
  const alias = optionalString(input, 'alias');
  if (alias !== undefined && !isValidAlias(alias)) {
    throw new PortalError(
      400,
      'bad_request',
      'alias: letters, digits, ., _ and -, starting with a letter or digit.',
    );
  }
  const token = typeof input.token === 'string' ? input.token.trim() : '';
  if (!TOKEN_CHARS.test(token)) {
    throw new PortalError(
      400,
      'bad_request',
      'token: required, visible characters only (no spaces or line breaks).',
    );
  }
  const params = grantParams(provider, input.params);
  const policy = grantPolicy(input);

  let grant: Grant;
  try {
    grant = deps.store.grants.create({
      appId: app.id,
      provider: provider.spec.id,
      alias,
      principal: optionalString(input, 'principal'),
      kind: 'static',
      params,
      policy,
    });
  } catch (error) {
    if (error instanceof StoreConflict) {
      throw new PortalError(409, 'conflict', `App ${app.name} already has a grant ${alias}.`);
    }
    throw error;
  }
  try {
    await deps.vault.put(grant.id, { kind: 'static', token }, grant.secretVersion);
  } catch (error) {
    // No grant without its secret: a row pointing at nothing would only fail later.
    deps.store.grants.delete(grant.id);
    deps.logger.error({ err: error, grant: grant.id }, 'portal: the vault refused the credential');
    throw new PortalError(503, 'vault_unavailable', 'The vault cannot be written.');
  }
  deps.logger.info(
    { grant: grant.id, app: app.name, provider: grant.provider },
    'portal: grant added',
  );
  return new Reply(201, { grant: grantJson(grant, provider) });
}

/** The secret goes first, as `grantd grant revoke` does: a row without it could only fail. */
async function revokeGrant({ deps, params }: ApiCall) {
  const id = params.id as string;
  const grant = deps.store.grants.byId(id);
  if (!grant) throw new PortalError(404, 'not_found', `No grant ${id}.`);
  try {
    await deps.vault.delete(grant.id);
  } catch (error) {
    deps.logger.error({ err: error, grant: grant.id }, 'portal: the vault refused the delete');
    throw new PortalError(503, 'vault_unavailable', 'The vault cannot be written.');
  }
  deps.store.grants.delete(grant.id);
  deps.logger.info({ grant: grant.id, app: grant.appName }, 'portal: grant revoked');
  return { id, revoked: true };
}

function requireProvider(deps: PortalDeps, id: string): Provider {
  const provider = deps.providers().get(id);
  if (!provider) throw new PortalError(400, 'bad_request', `provider: no provider ${id}.`);
  return provider;
}

/** The provider's params, checked by the same rules as `grant add --param`. */
function grantParams(provider: Provider, given: unknown): Record<string, string> {
  const pairs: Record<string, string> = {};
  if (given !== undefined && given !== null) {
    if (typeof given !== 'object' || Array.isArray(given)) {
      throw new PortalError(400, 'bad_request', 'params: expected an object of names to values.');
    }
    for (const [name, value] of Object.entries(given)) {
      if (typeof value !== 'string')
        throw new PortalError(400, 'bad_request', `params.${name}: expected a string.`);
      if (value.trim() !== '') pairs[name] = value.trim();
    }
  }
  try {
    return resolveParams(provider.spec, pairs);
  } catch (error) {
    if (!(error instanceof ParamError)) throw error;
    throw new PortalError(400, 'bad_request', `params.${error.param}: ${error.message}.`);
  }
}

function grantPolicy(input: Record<string, unknown>): Policy {
  const policy: Policy = {};
  const methods = optionalString(input, 'methods');
  if (methods !== undefined) {
    const parsed = parseMethods([methods]);
    if (typeof parsed === 'string')
      throw new PortalError(400, 'bad_request', `methods: ${parsed}.`);
    policy.methods = parsed;
  }
  const paths = optionalString(input, 'paths');
  if (paths !== undefined) {
    const parsed = parsePaths([paths]);
    if (typeof parsed === 'string') throw new PortalError(400, 'bad_request', `paths: ${parsed}.`);
    policy.paths = parsed;
  }
  return policy;
}
