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
  // Configured providers, and built-in ones once asked for.
  readonly #providers = new Map<string, Provider>();

  constructor(configured: Config['providers'] = {}) {
    for (const [id, entry] of Object.entries(configured)) {
      const client = entry.client_id
        ? { id: entry.client_id, secret: entry.client_secret }
        : undefined;
      const builtin = builtinSpec(id);
      if (builtin && entry.auth === undefined) {
        this.#providers.set(id, { spec: withOverrides(builtin, entry), builtin: true, client });
        continue;
      }
      this.#providers.set(id, { spec: customSpec(id, entry), builtin: false, client });
    }
  }

  get(id: string): Provider | undefined {
    const configured = this.#providers.get(id);
    if (configured) return configured;
    const spec = builtinSpec(id);
    if (!spec) return undefined;
    const provider = { spec, builtin: true, client: undefined };
    this.#providers.set(id, provider);
    return provider;
  }

  list(): Provider[] {
    const ids = new Set([...BUILTIN_PROVIDERS.map((entry) => entry.id), ...this.#providers.keys()]);
    return [...ids]
      .map((id) => this.get(id) as Provider)
      .sort((a, b) => a.spec.id.localeCompare(b.spec.id));
  }

  static isBuiltin(id: string): boolean {
    return BUILTIN_PROVIDERS.some((entry) => entry.id === id);
  }
}

const builtinSpecs = new Map<string, ProviderSpec>();

/**
 * A built-in entry with the schema's defaults filled in, parsed on first use:
 * the whole catalog at every start cost ~10 ms for entries most setups never
 * touch. The catalog's test checks every entry against the schema.
 */
function builtinSpec(id: string): ProviderSpec | undefined {
  let spec = builtinSpecs.get(id);
  if (spec) return spec;
  const entry = BUILTIN_PROVIDERS.find((candidate) => candidate.id === id);
  if (!entry) return undefined;
  spec = providerSpecSchema.parse(entry);
  builtinSpecs.set(id, spec);
  return spec;
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
