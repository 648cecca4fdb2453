import { z } from 'zod';

/**
 * How a provider's credential goes on the wire. `{token}` in a header format is
 * replaced by the secret; `basic` puts the secret in the user name or the
 * password of HTTP basic auth (the other half stays empty unless the
 * credential carries it, as Twilio's `account_sid:auth_token` does).
 */
export const injectSpecSchema = z.union([
  z.strictObject({
    header: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'not a valid header name'),
    format: z
      .string()
      .refine((f) => f.includes('{token}'), { message: 'must contain {token}' })
      .default('Bearer {token}'),
  }),
  z.strictObject({ query: z.string().min(1) }),
  z.strictObject({ basic: z.enum(['username', 'password', 'pair']).default('username') }),
]);

/**
 * A value captured per grant at connect time (a Shopify shop, a Zendesk
 * subdomain, an Entra tenant). `{name}` placeholders in a provider's URLs and
 * hosts are filled from these.
 */
export const grantParamSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/),
  description: z.string().min(1),
  /** A regular expression the whole value must match; keeps hosts well-formed. */
  pattern: z.string().min(1),
  default: z.string().optional(),
});

/** Where the principal's name comes from after a token is issued. */
export const principalSpecSchema = z.union([
  z.strictObject({
    /** A dotted path into the token response, e.g. `team.name`. */
    from: z.literal('token_response'),
    path: z.string().min(1),
  }),
  z.strictObject({
    /** A request to `url` with the new token injected; `path` picks the field. */
    from: z.literal('userinfo'),
    url: z.string().min(1),
    path: z.string().min(1),
    /** GraphQL and RPC-style APIs want a POST (Linear). */
    method: z.enum(['GET', 'POST']).default('GET'),
    /** A request body for POST, sent as JSON unless `headers` set another content-type. */
    body: z.string().optional(),
    /** Extra request headers some APIs insist on (Notion-Version, Accept). */
    headers: z.record(z.string(), z.string()).optional(),
  }),
]);

export const oauthSpecSchema = z.strictObject({
  /** Empty for client-credentials providers: there is no consent step to send anyone to. */
  authorize_url: z.string(),
  token_url: z.string().min(1),
  /** Scopes requested when `connect` is given none. */
  scopes: z.array(z.string().min(1)).default([]),
  scope_separator: z.enum([' ', ',', '+']).default(' '),
  /** The authorize parameter that carries the scopes (Slack user tokens use `user_scope`). */
  scope_param: z.string().min(1).default('scope'),
  /** How the client authenticates at the token endpoint (RFC 6749 section 2.3.1). */
  token_auth: z.enum(['client_secret_post', 'client_secret_basic']).default('client_secret_post'),
  pkce: z.enum(['required', 'supported', 'none']).default('supported'),
  /** Fixed extra authorize parameters (`access_type=offline`, `prompt=consent`). */
  authorize_params: z.record(z.string(), z.string()).default({}),
  /** Whether the provider issues refresh tokens at all. */
  refresh: z.boolean().default(true),
  /**
   * Dotted path of the access token in the token response (Slack user tokens).
   * When the path is absent, top-level `access_token` is read instead: Slack
   * answers a user-token refresh at the top level.
   */
  token_path: z.string().default('access_token'),
  /** Dotted path of the refresh token; falls back to top-level `refresh_token` likewise. */
  refresh_token_path: z.string().default('refresh_token'),
  /** Dotted path of the lifetime in seconds; falls back to top-level `expires_in` likewise. */
  expires_in_path: z.string().default('expires_in'),
  principal: principalSpecSchema.optional(),
  /** Token-response fields kept with the grant (Salesforce `instance_url`). */
  keep_fields: z.array(z.string().min(1)).default([]),
  /** A token-response field whose URL host becomes an allowed host of the grant. */
  host_from_field: z.string().optional(),
  /** Redirect query parameters kept with the grant (QuickBooks sends `realmId` there). */
  keep_callback_params: z.array(z.string().min(1)).default([]),
});

export const providerSpecSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  name: z.string().min(1),
  /** The provider's own documentation for its API authentication (every built-in has one). */
  docs: z.url({ protocol: /^https$/ }).optional(),
  auth: z.enum(['oauth2', 'oauth2_client_credentials', 'api_key', 'basic']),
  /**
   * API hosts grantd injects into. Exact names, `*.example.com` for any
   * subdomain, or `{param}.example.com` filled from the grant's params.
   */
  hosts: z.array(z.string().min(1)).min(1),
  inject: injectSpecSchema,
  /**
   * How a static credential added with `grant add` is injected, where it
   * differs from `inject` (Linear personal API keys go without `Bearer`).
   */
  static_inject: injectSpecSchema.optional(),
  /** Cleartext upstreams are refused unless this is set (local development APIs). */
  allow_cleartext: z.boolean().default(false),
  params: z.array(grantParamSchema).default([]),
  oauth: oauthSpecSchema.optional(),
  /** Refresh this many seconds before expiry (never earlier than half the lifetime). */
  refresh_margin_s: z.number().int().positive().default(300),
  /** A short remark for `provider show`: a quirk users should know. */
  notes: z.string().optional(),
});

export type InjectSpec = z.output<typeof injectSpecSchema>;
export type GrantParam = z.output<typeof grantParamSchema>;
export type PrincipalSpec = z.output<typeof principalSpecSchema>;
export type OAuthSpec = z.output<typeof oauthSpecSchema>;
export type ProviderSpec = z.output<typeof providerSpecSchema>;
export type ProviderSpecInput = z.input<typeof providerSpecSchema>;
