import { describe, expect, it } from 'vitest';

import { GrantdError } from '../../../src/errors.js';
import { parseTokenAnswer, type TokenAnswer } from '../../../src/oauth/token-response.js';
import { BUILTIN_PROVIDERS } from '../../../src/providers/catalog.js';
import { providerSpecSchema, type OAuthSpec } from '../../../src/providers/schema.js';

const oauthOf = (id: string): OAuthSpec =>
  providerSpecSchema.parse(BUILTIN_PROVIDERS.find((entry) => entry.id === id)).oauth!;

const NOW = 1_700_000_000_000;

function answer(status: number, body: unknown, contentType = 'application/json'): TokenAnswer {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { status, contentType, body: Buffer.from(text) };
}

function failure(run: () => unknown): GrantdError {
  try {
    run();
  } catch (error) {
    if (error instanceof GrantdError) return error;
    throw error;
  }
  throw new Error('expected a GrantdError');
}

// Shapes from Slack's oauth.v2.access documentation, tokens made up.
const SLACK_INSTALL = {
  ok: true,
  access_token: 'xoxb-bot-1',
  token_type: 'bot',
  scope: 'channels:read,chat:write',
  refresh_token: 'xoxe-1-bot-refresh',
  expires_in: 43200,
  team: { id: 'T1', name: 'Acme' },
  authed_user: {
    id: 'U1',
    scope: 'users:read',
    access_token: 'xoxp-user-1',
    token_type: 'user',
    refresh_token: 'xoxe-1-user-refresh',
    expires_in: 7200,
  },
};

describe('parseTokenAnswer', () => {
  it('reads the Slack bot token at the top level', () => {
    const set = parseTokenAnswer(oauthOf('slack'), answer(200, SLACK_INSTALL), NOW);
    expect(set.accessToken).toBe('xoxb-bot-1');
    expect(set.refreshToken).toBe('xoxe-1-bot-refresh');
    expect(set.expiresAt).toBe(NOW + 43_200_000);
  });

  it('reads the Slack user token, its refresh token and lifetime under authed_user', () => {
    const set = parseTokenAnswer(oauthOf('slack-user'), answer(200, SLACK_INSTALL), NOW);
    expect(set.accessToken).toBe('xoxp-user-1');
    expect(set.refreshToken).toBe('xoxe-1-user-refresh');
    expect(set.expiresAt).toBe(NOW + 7_200_000);
  });

  it('reads a Slack user-token refresh, which answers at the top level', () => {
    const refreshed = {
      ok: true,
      access_token: 'xoxe.xoxp-user-2',
      token_type: 'user',
      refresh_token: 'xoxe-1-user-refresh-2',
      expires_in: 7200,
    };
    const set = parseTokenAnswer(oauthOf('slack-user'), answer(200, refreshed), NOW);
    expect(set.accessToken).toBe('xoxe.xoxp-user-2');
    expect(set.refreshToken).toBe('xoxe-1-user-refresh-2');
  });

  it("takes Slack's ok:false with HTTP 200 as a failure, and invalid_refresh_token as a dead grant", () => {
    const slack = oauthOf('slack');
    const dead = failure(() =>
      parseTokenAnswer(slack, answer(200, { ok: false, error: 'invalid_refresh_token' }), NOW),
    );
    expect(dead.code).toBe('grant_needs_reauth');
    const other = failure(() =>
      parseTokenAnswer(slack, answer(200, { ok: false, error: 'invalid_client_id' }), NOW),
    );
    expect(other.code).toBe('token_refresh_failed');
  });

  it("reads GitHub's form-encoded answer and its error=bad_refresh_token", () => {
    const github = oauthOf('github-app');
    const form =
      'access_token=ghu_abc&expires_in=28800&refresh_token=ghr_def&scope=&token_type=bearer';
    const set = parseTokenAnswer(
      github,
      answer(200, form, 'application/x-www-form-urlencoded'),
      NOW,
    );
    expect(set).toMatchObject({
      accessToken: 'ghu_abc',
      refreshToken: 'ghr_def',
      tokenType: 'bearer',
    });
    expect(set.expiresAt).toBe(NOW + 28_800_000);
    const dead = failure(() =>
      parseTokenAnswer(
        github,
        answer(200, 'error=bad_refresh_token', 'application/x-www-form-urlencoded'),
        NOW,
      ),
    );
    expect(dead.code).toBe('grant_needs_reauth');
  });

  it('maps invalid_grant to grant_needs_reauth and everything else to token_refresh_failed', () => {
    const google = oauthOf('google');
    expect(
      failure(() => parseTokenAnswer(google, answer(400, { error: 'invalid_grant' }), NOW)).code,
    ).toBe('grant_needs_reauth');
    for (const bad of [
      answer(400, { error: 'invalid_client' }),
      answer(500, { error: 'invalid_grant' }),
      answer(503, '<html>maintenance</html>', 'text/html'),
      answer(200, '<html>login</html>', 'text/html'),
      answer(200, { token_type: 'bearer' }),
      answer(200, { access_token: 'two\nlines' }),
      answer(401, ''),
    ]) {
      expect(failure(() => parseTokenAnswer(google, bad, NOW)).code).toBe('token_refresh_failed');
    }
  });

  it('names the failure without echoing the body or any token', () => {
    const error = failure(() =>
      parseTokenAnswer(
        oauthOf('google'),
        answer(400, {
          error: 'invalid_request',
          error_description: 'refresh_token rt_secret_123 is malformed',
        }),
        NOW,
      ),
    );
    const text = `${error.message} ${(error.cause as Error).message}`;
    expect(text).toContain('invalid_request');
    expect(text).not.toContain('rt_secret_123');
    expect(error.message).toBe("The provider's token endpoint failed.");
  });

  it('accepts expires_in as text, and no expiry when it is missing or nonsense', () => {
    const google = oauthOf('google');
    expect(
      parseTokenAnswer(google, answer(200, { access_token: 'a', expires_in: '3599' }), NOW)
        .expiresAt,
    ).toBe(NOW + 3_599_000);
    expect(
      parseTokenAnswer(google, answer(200, { access_token: 'a' }), NOW).expiresAt,
    ).toBeUndefined();
    expect(
      parseTokenAnswer(google, answer(200, { access_token: 'a', expires_in: -5 }), NOW).expiresAt,
    ).toBeUndefined();
  });
});
