import { describe, expect, it } from 'vitest';

import { buildAuthorizeUrl, parseScopes, usesPkce } from '../../../src/oauth/authorize-url.js';
import { challengeFor, createPkce, createState } from '../../../src/oauth/pkce.js';
import { BUILTIN_PROVIDERS } from '../../../src/providers/catalog.js';
import { providerSpecSchema, type ProviderSpec } from '../../../src/providers/schema.js';

const spec = (id: string): ProviderSpec =>
  providerSpecSchema.parse(BUILTIN_PROVIDERS.find((entry) => entry.id === id));

const REDIRECT = 'http://127.0.0.1:49152/callback';

function urlFor(id: string, options: { scopes?: string[]; params?: Record<string, string> } = {}) {
  const provider = spec(id);
  return buildAuthorizeUrl(provider, {
    clientId: 'client-1',
    redirectUri: REDIRECT,
    state: 'state-1',
    scopes: options.scopes ?? provider.oauth?.scopes ?? [],
    params: options.params ?? {},
    pkce: usesPkce(provider) ? createPkce() : undefined,
  });
}

describe('buildAuthorizeUrl with the built-in catalog', () => {
  it('asks Google for offline access and a consent prompt, so a refresh token comes back', () => {
    const url = urlFor('google');
    expect(url.origin + url.pathname).toBe('https://accounts.google.com/o/oauth2/v2/auth');
    expect(url.searchParams.get('access_type')).toBe('offline');
    expect(url.searchParams.get('prompt')).toBe('consent');
    expect(url.searchParams.get('scope')).toBe('openid email');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
  });

  it('puts the Entra tenant in the path, and refuses a URL without one', () => {
    const url = urlFor('microsoft', { params: { tenant: 'contoso-1' } });
    expect(url.pathname).toBe('/contoso-1/oauth2/v2.0/authorize');
    expect(url.searchParams.get('scope')).toBe('offline_access User.Read');
    expect(() => urlFor('microsoft', { params: {} })).toThrow(/needs a param/);
  });

  it('asks Slack for bot scopes in scope and user scopes in user_scope, comma-joined', () => {
    const bot = urlFor('slack');
    expect(bot.searchParams.get('scope')).toBe('channels:read,chat:write');
    expect(bot.searchParams.has('user_scope')).toBe(false);
    const user = urlFor('slack-user', { scopes: ['users:read', 'chat:write'] });
    expect(user.searchParams.get('user_scope')).toBe('users:read,chat:write');
    expect(user.searchParams.has('scope')).toBe(false);
    // Slack takes no PKCE: no challenge is sent.
    expect(user.searchParams.has('code_challenge')).toBe(false);
  });

  it('fills the Shopify shop into the authorize host', () => {
    expect(urlFor('shopify', { params: { shop: 'acme' } }).host).toBe('acme.myshopify.com');
  });

  it('carries the standard parameters and omits an empty scope', () => {
    const url = urlFor('zoom', { scopes: [] });
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('client_id')).toBe('client-1');
    expect(url.searchParams.get('redirect_uri')).toBe(REDIRECT);
    expect(url.searchParams.get('state')).toBe('state-1');
    expect(url.searchParams.has('scope')).toBe(false);
  });

  it('keeps the query an authorize URL already has (Notion owner=user)', () => {
    expect(urlFor('notion').searchParams.get('owner')).toBe('user');
  });
});

describe('PKCE and state', () => {
  it('derives the S256 challenge of RFC 7636 appendix B', () => {
    expect(challengeFor('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('makes a 43-character verifier and a fresh state each time', () => {
    const pkce = createPkce();
    expect(pkce.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pkce.challenge).toBe(challengeFor(pkce.verifier));
    expect(createState()).not.toBe(createState());
  });
});

describe('parseScopes', () => {
  it('splits on spaces and commas, and falls back to the defaults', () => {
    expect(parseScopes('a b,c', ['x'])).toEqual(['a', 'b', 'c']);
    expect(parseScopes(undefined, ['x'])).toEqual(['x']);
  });
});
