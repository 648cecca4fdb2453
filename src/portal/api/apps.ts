import { APP_NAME, StoreConflict, type App } from '../../store/apps.js';
import { PortalError, Reply, requiredString } from '../http.js';
import { iso, proxyHostPort, type ApiCall, type ApiRoute, type PortalDeps } from './context.js';

/** Apps and their keys: create, delete, mint (the one response that holds a key), revoke. */
export const APP_ROUTES: ApiRoute[] = [
  { method: 'GET', path: '/api/apps', run: listApps },
  { method: 'POST', path: '/api/apps', run: createApp },
  { method: 'DELETE', path: '/api/apps/:name', run: deleteApp },
  { method: 'GET', path: '/api/keys', run: listKeys },
  { method: 'POST', path: '/api/apps/:name/keys', run: mintKey },
  { method: 'POST', path: '/api/keys/:id/revoke', run: revokeKey },
];

function listApps({ deps }: ApiCall) {
  const { store } = deps;
  const keys = store.keys.list();
  const grants = store.grants.list();
  const apps = store.apps.list().map((app) => {
    const own = keys.filter((key) => key.appId === app.id);
    const lastUsed = Math.max(0, ...own.map((key) => key.lastUsedAt ?? 0));
    return {
      id: app.id,
      name: app.name,
      created_at: iso(app.createdAt),
      keys: own.filter((key) => key.revokedAt === undefined).length,
      grants: grants.filter((grant) => grant.appId === app.id).length,
      last_used_at: lastUsed === 0 ? null : iso(lastUsed),
    };
  });
  return { apps };
}

async function createApp({ deps, body }: ApiCall) {
  const name = requiredString(await body(), 'name');
  if (!APP_NAME.test(name)) {
    throw new PortalError(
      400,
      'bad_request',
      'name: use lower-case letters, digits, ., _ and -, starting with a letter or digit (at most 63).',
    );
  }
  try {
    const app = deps.store.apps.create(name);
    return new Reply(201, { app: { id: app.id, name: app.name, created_at: iso(app.createdAt) } });
  } catch (error) {
    if (error instanceof StoreConflict) {
      throw new PortalError(409, 'conflict', `An app named ${name} exists.`);
    }
    throw error;
  }
}

/** Deletes the app with its keys and grants, the grants' secrets first (as `grantd app delete`). */
async function deleteApp({ deps, params }: ApiCall) {
  const app = requireApp(deps, params.name as string);
  const grants = deps.store.grants.list(app.id);
  for (const grant of grants) await deps.vault.delete(grant.id);
  deps.store.apps.delete(app.id);
  deps.logger.info({ app: app.name, grants: grants.length }, 'portal: app deleted');
  return { deleted: app.name, grants: grants.length };
}

function listKeys({ deps }: ApiCall) {
  const keys = deps.store.keys.list().map((key) => ({
    id: key.id,
    app: key.appName,
    created_at: iso(key.createdAt),
    last_used_at: iso(key.lastUsedAt),
    revoked_at: iso(key.revokedAt),
  }));
  return { keys };
}

/** The key is in this response and nowhere else, ever: only its hash is kept. */
function mintKey({ deps, params }: ApiCall) {
  const app = requireApp(deps, params.name as string);
  const { id, key } = deps.store.keys.mint(app.id);
  deps.logger.info({ app: app.name, keyId: id }, 'portal: key minted');
  const proxyUrl = `http://_:${key}@${proxyHostPort(deps)}`;
  return new Reply(201, { id, app: app.name, key, proxy_url: proxyUrl });
}

function revokeKey({ deps, params }: ApiCall) {
  const id = params.id as string;
  const key = deps.store.keys.byId(id);
  if (!key) throw new PortalError(404, 'not_found', `No key ${id}.`);
  const revoked = deps.store.keys.revoke(id);
  if (revoked) deps.logger.info({ app: key.appName, keyId: id }, 'portal: key revoked');
  return { id, revoked, already_revoked: !revoked };
}

export function requireApp(deps: PortalDeps, name: string): App {
  const app = deps.store.apps.byName(name);
  if (!app) throw new PortalError(404, 'not_found', `No app named ${name}.`);
  return app;
}
