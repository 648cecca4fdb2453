import { APP_ROUTES } from './apps.js';
import { AUDIT_ROUTES } from './audit.js';
import type { ApiCall, ApiMethod, ApiRoute } from './context.js';
import { GRANT_ROUTES } from './grants.js';
import { OVERVIEW_ROUTES } from './overview.js';
import { PROVIDER_ROUTES } from './providers.js';

const SESSION_ROUTES: ApiRoute[] = [
  {
    method: 'POST',
    path: '/api/logout',
    run: ({ signOut }: ApiCall) => {
      signOut();
      return { signed_out: true };
    },
  },
];

/** Every JSON API route of the portal; the security tests walk this list. */
export const API_ROUTES: readonly ApiRoute[] = [
  ...OVERVIEW_ROUTES,
  ...APP_ROUTES,
  ...GRANT_ROUTES,
  ...AUDIT_ROUTES,
  ...PROVIDER_ROUTES,
  ...SESSION_ROUTES,
];

/** The route for a method and path, with its `:name` parts; `methods` lists what the path takes. */
export function matchRoute(
  method: string,
  path: string,
): { route: ApiRoute; params: Record<string, string> } | { methods: ApiMethod[] } | undefined {
  const methods: ApiMethod[] = [];
  for (const route of API_ROUTES) {
    const params = matchPath(route.path, path);
    if (params === undefined) continue;
    if (route.method === method) return { route, params };
    methods.push(route.method);
  }
  return methods.length > 0 ? { methods } : undefined;
}

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    const value = got[i] as string;
    if (part.startsWith(':')) {
      if (value === '') return undefined;
      try {
        params[part.slice(1)] = decodeURIComponent(value);
      } catch {
        return undefined;
      }
    } else if (part !== value) {
      return undefined;
    }
  }
  return params;
}
