import { describe, expect, it } from 'vitest';

import { grantDetails } from '../../../src/oauth/grant-details.js';
import type { TokenSet } from '../../../src/oauth/token-response.js';
import { BUILTIN_PROVIDERS } from '../../../src/providers/catalog.js';
import { grantHostPatterns, matchesHost } from '../../../src/providers/registry.js';
import { providerSpecSchema, type ProviderSpec } from '../../../src/providers/schema.js';

const spec = (id: string): ProviderSpec =>
  providerSpecSchema.parse(BUILTIN_PROVIDERS.find((entry) => entry.id === id));

function tokens(response: Record<string, unknown>): TokenSet {
  return {
    accessToken: 'a',
    refreshToken: undefined,
    expiresAt: undefined,
    tokenType: undefined,
    scope: undefined,
    obtainedAt: 0,
    response,
  };
}

describe('grantDetails', () => {
  it('allows the Salesforce instance host for that grant only', () => {
    const salesforce = spec('salesforce');
    // A legacy instance name, outside the catalog's *.my.salesforce.com.
    const details = grantDetails(
      salesforce,
      tokens({ access_token: 'a', instance_url: 'https://na42.salesforce.com' }),
      new URLSearchParams(),
    );
    expect(details.extraHosts).toEqual(['na42.salesforce.com']);
    expect(details.kept).toEqual({ instance_url: 'https://na42.salesforce.com' });

    const connected = grantHostPatterns(salesforce, details.kept, details.extraHosts);
    expect(matchesHost('na42.salesforce.com', connected)).toBe(true);
    expect(matchesHost('acme.my.salesforce.com', connected)).toBe(true);
    expect(matchesHost('na43.salesforce.com', connected)).toBe(false);
    expect(matchesHost('evil.example', connected)).toBe(false);

    const other = grantHostPatterns(salesforce, {}, []);
    expect(matchesHost('na42.salesforce.com', other)).toBe(false);
  });

  it('takes no host from a cleartext or IP instance URL', () => {
    const salesforce = spec('salesforce');
    for (const url of ['http://na42.salesforce.com', 'https://10.0.0.5', 'not a url']) {
      const details = grantDetails(
        salesforce,
        tokens({ instance_url: url }),
        new URLSearchParams(),
      );
      expect(details.extraHosts, url).toEqual([]);
    }
  });

  it('keeps the QuickBooks realmId from the redirect', () => {
    const details = grantDetails(
      spec('quickbooks'),
      tokens({ access_token: 'a' }),
      new URLSearchParams({ code: 'c', state: 's', realmId: '9130348' }),
    );
    expect(details.kept).toEqual({ realmId: '9130348' });
  });

  it("never lets a token response overwrite the user's declared params", () => {
    const shopify: ProviderSpec = {
      ...spec('shopify'),
      oauth: { ...spec('shopify').oauth!, keep_fields: ['shop'] },
    };
    const details = grantDetails(shopify, tokens({ shop: 'evil' }), new URLSearchParams());
    expect(details.kept).toEqual({});
  });
});
