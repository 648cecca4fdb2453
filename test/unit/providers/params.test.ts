import { describe, expect, it } from 'vitest';

import { ParamError, resolveParams } from '../../../src/providers/params.js';
import { ProviderRegistry } from '../../../src/providers/registry.js';

const registry = new ProviderRegistry();
const spec = (id: string) => {
  const provider = registry.get(id);
  if (!provider) throw new Error(`no provider ${id}`);
  return provider.spec;
};

function errorOf(run: () => unknown): ParamError {
  try {
    run();
  } catch (error) {
    if (error instanceof ParamError) return error;
    throw error;
  }
  throw new Error('expected a ParamError');
}

describe('per-grant params', () => {
  it('accepts a value that matches the pattern and fills defaults', () => {
    expect(resolveParams(spec('shopify'), { shop: 'acme' })).toEqual({ shop: 'acme' });
    expect(resolveParams(spec('microsoft'), {})).toEqual({ tenant: 'common' });
  });

  it('refuses a value that would change the host', () => {
    const error = errorOf(() => resolveParams(spec('shopify'), { shop: 'evil.com/x' }));
    expect(error).toMatchObject({ kind: 'invalid', param: 'shop' });
  });

  it('names a param the provider does not take, and one that is missing', () => {
    expect(errorOf(() => resolveParams(spec('openai'), { shop: 'a' }))).toMatchObject({
      kind: 'unknown',
      param: 'shop',
    });
    expect(errorOf(() => resolveParams(spec('shopify'), {}))).toMatchObject({
      kind: 'missing',
      param: 'shop',
    });
  });
});
