import type { Provider } from '../../providers/registry.js';
import type { ApiCall, ApiRoute } from './context.js';

/** The catalog and the config's own providers; whether a client is set, never the secret. */
export const PROVIDER_ROUTES: ApiRoute[] = [
  { method: 'GET', path: '/api/providers', run: listProviders },
];

function listProviders({ deps }: ApiCall) {
  const inUse = new Map<string, number>();
  for (const grant of deps.store.grants.list()) {
    inUse.set(grant.provider, (inUse.get(grant.provider) ?? 0) + 1);
  }
  const providers = deps
    .providers()
    .list()
    .map((provider) => describe(provider, inUse.get(provider.spec.id) ?? 0));
  return { providers };
}

function describe(provider: Provider, grants: number) {
  const { spec } = provider;
  return {
    id: spec.id,
    name: spec.name,
    builtin: provider.builtin,
    auth: spec.auth,
    hosts: spec.hosts,
    inject: describeInject(provider),
    params: spec.params.map((param) => ({
      name: param.name,
      description: param.description,
      required: param.default === undefined,
    })),
    oauth: spec.oauth ? { scopes: spec.oauth.scopes } : null,
    // Whether the config supplies a client; the id and secret stay out of the portal.
    client_configured: spec.oauth ? provider.client !== undefined : null,
    docs: spec.docs ?? null,
    grants,
  };
}

function describeInject(provider: Provider): string {
  const inject = provider.spec.inject;
  if ('header' in inject) return `${inject.header}: ${inject.format}`;
  if ('query' in inject) return `query parameter ${inject.query}`;
  return `basic auth (${inject.basic})`;
}
