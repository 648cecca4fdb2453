import { describe, expect, it } from 'vitest';

import { BUILTIN_PROVIDERS } from '../../../src/providers/catalog.js';
import { providerSpecSchema, type ProviderSpec } from '../../../src/providers/schema.js';

const REQUIRED_IDS = [
  'airtable',
  'anthropic',
  'asana',
  'atlassian',
  'box',
  'calendly',
  'clickup',
  'discord',
  'dropbox',
  'figma',
  'github',
  'github-app',
  'gitlab',
  'google',
  'groq',
  'hubspot',
  'huggingface',
  'intercom',
  'linear',
  'linkedin',
  'microsoft',
  'miro',
  'mistral',
  'monday',
  'notion',
  'openai',
  'quickbooks',
  'salesforce',
  'sendgrid',
  'shopify',
  'slack',
  'slack-user',
  'spotify',
  'stripe',
  'twilio',
  'x',
  'xero',
  'zendesk',
  'zoom',
];

// A DNS label: letters, digits and inner hyphens, lower-case only.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = `${LABEL}(?:\\.${LABEL})+`;
const EXACT_HOST = new RegExp(`^${DOMAIN}$`);
const WILDCARD_HOST = new RegExp(`^\\*\\.${DOMAIN}$`);
const PARAM_HOST = new RegExp(`^\\{([a-z][a-z0-9_]*)\\}\\.${DOMAIN}$`);

// Values a grant param must never accept: each would let a user steer a URL or host.
const HOSTILE_PARAM_VALUES = [
  'evil.com/',
  'a.b',
  'a/b',
  'a@b',
  'a:b',
  'a b',
  'a\tb',
  'a\nb',
  'a?b',
  'a#b',
  '',
];

const parsed: ProviderSpec[] = BUILTIN_PROVIDERS.map((entry) => providerSpecSchema.parse(entry));
const byId = (id: string): ProviderSpec => parsed.find((p) => p.id === id)!;
const ids = parsed.map((p) => p.id);

/** Every URL template of a provider: authorize, token and userinfo principal URLs. */
function urlTemplates(provider: ProviderSpec): string[] {
  const oauth = provider.oauth;
  if (oauth === undefined) return [];

  const urls = [oauth.authorize_url, oauth.token_url];
  if (oauth.principal?.from === 'userinfo') urls.push(oauth.principal.url);
  return urls;
}

function placeholders(template: string): string[] {
  return [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!);
}

/** Fills each `{name}` with a harmless sample so the template can be parsed as a URL. */
function fillTemplate(template: string): string {
  return template.replace(/\{[a-z][a-z0-9_]*\}/g, 'sample');
}

describe('BUILTIN_PROVIDERS', () => {
  it.each(BUILTIN_PROVIDERS.map((entry) => [entry.id, entry] as const))(
    '%s parses against the provider schema',
    (_id, entry) => {
      expect(() => providerSpecSchema.parse(entry)).not.toThrow();
    },
  );

  it('gives every provider a unique id', () => {
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lists providers sorted by id', () => {
    expect(ids).toEqual([...ids].sort());
  });

  it('includes every required provider', () => {
    expect(ids).toEqual(expect.arrayContaining(REQUIRED_IDS));
  });

  it('has at least 30 providers connected with OAuth', () => {
    expect(parsed.filter((p) => p.auth === 'oauth2').length).toBeGreaterThanOrEqual(30);
  });
});

describe.each(parsed.map((p) => [p.id, p] as const))('the %s provider', (_id, provider) => {
  const declared = provider.params.map((p) => p.name);

  it('links its documentation over https', () => {
    expect(provider.docs).toMatch(/^https:\/\//);
  });

  it('names hosts in lower case with no scheme, port or path', () => {
    for (const host of provider.hosts) {
      const param = PARAM_HOST.exec(host)?.[1];
      const shapeOk = EXACT_HOST.test(host) || WILDCARD_HOST.test(host) || param !== undefined;

      expect(shapeOk, host).toBe(true);
      if (param !== undefined) expect(declared, host).toContain(param);
    }
  });

  it('declares every placeholder it uses and uses every param it declares', () => {
    const used = [...provider.hosts, ...urlTemplates(provider)].flatMap(placeholders);

    for (const name of used) expect(declared, `{${name}}`).toContain(name);
    for (const name of declared) expect(used, name).toContain(name);
  });

  it('uses https for every OAuth and principal URL', () => {
    for (const template of urlTemplates(provider)) {
      expect(new URL(fillTemplate(template)).protocol, template).toBe('https:');
    }
  });

  it('gives param patterns that compile and refuse dots, slashes and other separators', () => {
    for (const param of provider.params) {
      const pattern = new RegExp(param.pattern);

      for (const value of HOSTILE_PARAM_VALUES) {
        expect(pattern.test(value), `${param.name} accepts ${JSON.stringify(value)}`).toBe(false);
      }
      expect(pattern.test('acme-1'), param.name).toBe(true);
      if (param.default !== undefined) expect(pattern.test(param.default)).toBe(true);
    }
  });

  it('matches its auth kind with its OAuth block', () => {
    if (provider.auth === 'oauth2') {
      expect(provider.oauth).toBeDefined();
      expect(provider.oauth?.principal).toBeDefined();
      return;
    }

    if (provider.auth === 'api_key' || provider.auth === 'basic') {
      expect(provider.oauth?.authorize_url).toBeUndefined();
    }
  });
});

describe('provider specifics', () => {
  it('sends Anthropic keys in x-api-key without a prefix', () => {
    expect(byId('anthropic').inject).toEqual({ header: 'x-api-key', format: '{token}' });
  });

  it('sends Linear personal keys without Bearer but OAuth tokens with it', () => {
    const linear = byId('linear');

    expect(linear.inject).toEqual({ header: 'authorization', format: 'Bearer {token}' });
    expect(linear.static_inject).toEqual({ header: 'authorization', format: '{token}' });
  });

  it('reads the Slack user token from authed_user with the user_scope parameter', () => {
    const oauth = byId('slack-user').oauth!;

    expect(oauth.scope_param).toBe('user_scope');
    expect(oauth.token_path).toBe('authed_user.access_token');
    expect(oauth.scope_separator).toBe(',');
  });

  it('keeps the Salesforce instance URL and allows its host', () => {
    const oauth = byId('salesforce').oauth!;

    expect(oauth.keep_fields).toContain('instance_url');
    expect(oauth.host_from_field).toBe('instance_url');
  });

  it('defaults the Microsoft tenant to common', () => {
    expect(byId('microsoft').params).toEqual([
      expect.objectContaining({ name: 'tenant', default: 'common' }),
    ]);
  });

  it('stores Twilio credentials as an account SID and token pair', () => {
    expect(byId('twilio').inject).toEqual({ basic: 'pair' });
  });
});
