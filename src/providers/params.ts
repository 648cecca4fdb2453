import type { ProviderSpec } from './schema.js';

/** A per-grant param the provider does not take, with a bad value, or missing. */
export class ParamError extends Error {
  readonly param: string;
  readonly kind: 'unknown' | 'invalid' | 'missing';

  constructor(kind: ParamError['kind'], param: string, message: string) {
    super(message);
    this.name = 'ParamError';
    this.kind = kind;
    this.param = param;
  }
}

/**
 * Checks given per-grant values (a shop, a subdomain, a tenant) against the
 * provider's declared params and their patterns, and fills defaults. The
 * patterns keep values that end up in host names well-formed.
 */
export function resolveParams(
  spec: ProviderSpec,
  given: Readonly<Record<string, string>>,
): Record<string, string> {
  const params: Record<string, string> = {};
  const declared = new Map(spec.params.map((p) => [p.name, p]));
  for (const [name, value] of Object.entries(given)) {
    const param = declared.get(name);
    if (!param) {
      const names = [...declared.keys()].join(', ') || 'none';
      throw new ParamError(
        'unknown',
        name,
        `${spec.id} takes no param ${name} (its params: ${names})`,
      );
    }
    if (!new RegExp(param.pattern).test(value)) {
      throw new ParamError(
        'invalid',
        name,
        `${JSON.stringify(value)} is not a valid ${param.description}`,
      );
    }
    params[name] = value;
  }
  for (const param of spec.params) {
    if (params[param.name] !== undefined) continue;
    if (param.default === undefined) {
      throw new ParamError(
        'missing',
        param.name,
        `${spec.id} needs ${param.name} (${param.description})`,
      );
    }
    params[param.name] = param.default;
  }
  return params;
}
