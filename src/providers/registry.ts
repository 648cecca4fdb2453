import type { Config } from '../config/schema.js';
import { BUILTIN_PROVIDERS } from './catalog.js';
import { hostPatterns, matchesHost, type HostPattern } from './host-pattern.js';
import { providerSpecSchema, type InjectSpec, type ProviderSpec } from './schema.js';

/** OAuth client credentials for a provider, from the config. */
export interface ClientCredentials {
  id: string;
  secret: string | undefined;
}

/** A provider as grantd uses it: its spec, and the client the config gives it. */
export interface Provider {
  spec: ProviderSpec;
  builtin: boolean;
  client: ClientCredentials | undefined;
}

/**
 * The provider catalog: the built-in entries, the client credentials the
 * config supplies for them, and the config's custom providers. Built once at
 * start; the config is validated against it before.
 */
export class ProviderRegistry {
  readonly #providers = new Map<string, Provider>();

  constructor(configured: Config['providers'] = {}) {
    for (const entry of BUILTIN_PROVIDERS) {
      const spec = providerSpecSchema.parse(entry);
      this.#providers.set(spec.id, { spec, builtin: true, client: undefined });
    }
    for (const [id, entry] of Object.entries(configured)) {
      const client = entry.client_id
        ? { id: entry.client_id, secret: entry.client_secret }
        : undefined;
      const builtin = this.#providers.get(id);
      if (builtin && entry.auth === undefined) {
        this.#providers.set(id, { ...builtin, client, spec: withOverrides(builtin.spec, entry) });
        continue;
      }
      this.#providers.set(id, { spec: customSpec(id, entry), builtin: false, client });
    }
  }

  get(id: string): Provider | undefined {
    return this.#providers.get(id);
  }

  list(): Provider[] {
    return [...this.#providers.values()].sort((a, b) => a.spec.id.localeCompare(b.spec.id));
  }

  static isBuiltin(id: string): boolean {
    return BUILTIN_PROVIDERS.some((entry) => entry.id === id);
  }
}

/** How a grant's credential goes on the wire: static keys may differ from OAuth tokens. */
export function injectionFor(spec: ProviderSpec, kind: 'static' | 'oauth'): InjectSpec {
  return kind === 'static' && spec.static_inject ? spec.static_inject : spec.inject;
}

/** The host patterns one grant may reach: its provider's, filled, plus its own. */
export function grantHostPatterns(
  spec: ProviderSpec,
  params: Readonly<Record<string, string>>,
  extraHosts: readonly string[],
): HostPattern[] {
  return hostPatterns(spec.hosts, params).concat(
    extraHosts.map((text) => ({ text, wildcard: false })),
  );
}

export { matchesHost };

type ConfiguredProvider = Config['providers'][string];

function withOverrides(spec: ProviderSpec, entry: ConfiguredProvider): ProviderSpec {
  const out = entry.refresh_margin_s ? { ...spec, refresh_margin_s: entry.refresh_margin_s } : spec;
  if (!out.oauth || !entry.scopes) return out;
  return { ...out, oauth: { ...out.oauth, scopes: entry.scopes } };
}

function customSpec(id: string, entry: ConfiguredProvider): ProviderSpec {
  const oauth =
    entry.auth === 'oauth2' || entry.auth === 'oauth2_client_credentials'
      ? {
          authorize_url: entry.authorize_url ?? '',
          token_url: entry.token_url ?? '',
          scopes: entry.scopes ?? [],
        }
      : undefined;
  return providerSpecSchema.parse({
    id,
    name: entry.display_name ?? id,
    auth: entry.auth,
    hosts: entry.hosts,
    inject: entry.inject ?? { header: 'Authorization', format: 'Bearer {token}' },
    allow_cleartext: entry.allow_cleartext,
    ...(entry.refresh_margin_s ? { refresh_margin_s: entry.refresh_margin_s } : {}),
    ...(oauth ? { oauth } : {}),
  });
}
