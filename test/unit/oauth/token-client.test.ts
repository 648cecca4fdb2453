import { describe, expect, it } from 'vitest';

import { GrantdError } from '../../../src/errors.js';
import { buildTokenRequest, joinScopes } from '../../../src/oauth/token-client.js';
import { BUILTIN_PROVIDERS } from '../../../src/providers/catalog.js';
import type { Provider } from '../../../src/providers/registry.js';
import { providerSpecSchema } from '../../../src/providers/schema.js';

function provider(
  id: string,
  client: Provider['client'] = { id: 'cid', secret: 's3cr+t/=' },
): Provider {
  const spec = providerSpecSchema.parse(BUILTIN_PROVIDERS.find((entry) => entry.id === id));
  return { spec, builtin: true, client };
}

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('buildTokenRequest', () => {
  it('authenticates Notion with HTTP basic and keeps the secret out of the body', () => {
    const request = buildTokenRequest(
      provider('notion', { id: 'notion-id', secret: 'notion-secret' }),
      {},
      {
        type: 'authorization_code',
        code: 'c1',
        redirectUri: 'http://127.0.0.1:5000/callback',
      },
    );
    expect(request.url.toString()).toBe('https://api.notion.com/v1/oauth/token');
    expect(request.headers.Authorization).toBe(basic('notion-id', 'notion-secret'));
    const form = new URLSearchParams(request.body);
    expect(form.get('client_secret')).toBeNull();
    expect(form.get('client_id')).toBeNull();
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'authorization_code',
      code: 'c1',
      redirect_uri: 'http://127.0.0.1:5000/callback',
    });
  });

  it('form-encodes id and secret inside basic auth (RFC 6749 section 2.3.1)', () => {
    const request = buildTokenRequest(
      provider('spotify'),
      {},
      { type: 'refresh_token', refreshToken: 'r' },
    );
    expect(request.headers.Authorization).toBe(basic('cid', 's3cr%2Bt%2F%3D'));
  });

  it('posts Slack client credentials in the body, and asks every endpoint for JSON', () => {
    const request = buildTokenRequest(
      provider('slack'),
      {},
      { type: 'refresh_token', refreshToken: 'xoxe-1' },
    );
    expect(request.headers.Authorization).toBeUndefined();
    expect(request.headers.Accept).toBe('application/json');
    expect(request.headers['Content-Type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'xoxe-1',
      client_id: 'cid',
      client_secret: 's3cr+t/=',
    });
  });

  it('sends the PKCE verifier with the code', () => {
    const request = buildTokenRequest(
      provider('x'),
      {},
      {
        type: 'authorization_code',
        code: 'c',
        redirectUri: 'http://127.0.0.1:1/callback',
        codeVerifier: 'v'.repeat(43),
      },
    );
    expect(new URLSearchParams(request.body).get('code_verifier')).toBe('v'.repeat(43));
  });

  it('names a public client (no secret) in the body even where basic auth is the rule', () => {
    const request = buildTokenRequest(
      provider('x', { id: 'public', secret: undefined }),
      {},
      {
        type: 'refresh_token',
        refreshToken: 'r',
      },
    );
    expect(request.headers.Authorization).toBeUndefined();
    expect(new URLSearchParams(request.body).get('client_id')).toBe('public');
  });

  it('fills the Entra tenant into the token URL', () => {
    const request = buildTokenRequest(
      provider('microsoft'),
      { tenant: 'contoso-1' },
      {
        type: 'refresh_token',
        refreshToken: 'r',
      },
    );
    expect(request.url.pathname).toBe('/contoso-1/oauth2/v2.0/token');
  });

  it('refuses with token_refresh_failed when no client is configured', () => {
    expect(() =>
      buildTokenRequest(
        { ...provider('slack'), client: undefined },
        {},
        { type: 'refresh_token', refreshToken: 'r' },
      ),
    ).toThrow(GrantdError);
  });

  it('asks for the default scopes with the client-credentials grant', () => {
    const request = buildTokenRequest(
      provider('zoom'),
      {},
      { type: 'client_credentials', scope: 'a b' },
    );
    expect(new URLSearchParams(request.body).get('scope')).toBe('a b');
    expect(joinScopes(['a', 'b'], '+')).toBe('a b');
    expect(joinScopes(['a', 'b'], ',')).toBe('a,b');
  });
});
