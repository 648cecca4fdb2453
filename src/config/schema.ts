import { z } from 'zod';

import { injectSpecSchema } from '../providers/schema.js';
import { isNetwork } from '../proxy/egress-guard.js';
import { canonicalHost, parseHostPort } from '../util/hosts.js';

const hostPort = (what: string) =>
  z.string().refine((value) => parseHostPort(value) !== undefined, {
    message: `expected ${what} as host:port, e.g. 127.0.0.1:8790`,
  });

const hostName = z
  .string()
  .refine((value) => canonicalHost(value) !== undefined, { message: 'not a valid host name' })
  .transform((value) => canonicalHost(value) as string);

const positiveMs = z.number().int().positive();

/**
 * A provider entry. With `auth` it is a custom provider and must say which
 * hosts it covers; without, it supplies client credentials for a built-in one.
 */
const providerSchema = z.strictObject({
  auth: z.enum(['oauth2', 'oauth2_client_credentials', 'api_key', 'basic']).optional(),
  display_name: z.string().optional(),
  authorize_url: z.url({ protocol: /^https?$/ }).optional(),
  token_url: z.url({ protocol: /^https?$/ }).optional(),
  client_id: z.string().min(1).optional(),
  client_secret: z.string().min(1).optional(),
  scopes: z.array(z.string().min(1)).optional(),
  hosts: z.array(hostName).min(1).optional(),
  inject: injectSpecSchema.optional(),
  allow_cleartext: z.boolean().default(false),
  /** Refresh OAuth tokens this many seconds before they expire. */
  refresh_margin_s: z.number().int().positive().optional(),
  /**
   * A fixed loopback port for `grantd connect`'s redirect, for providers that
   * accept only the exact redirect URL registered (http://127.0.0.1:PORT/callback).
   */
  redirect_port: z.number().int().min(1).max(65535).optional(),
});

const routeSchema = z.strictObject({
  app: z.string().min(1),
  host: hostName,
  grant: z.string().min(1),
  /** Only these methods may use the grant through this route (e.g. [GET]). */
  methods: z
    .array(z.string().regex(/^[A-Za-z]+$/, 'not an HTTP method'))
    .transform((methods) => methods.map((m) => m.toUpperCase()))
    .optional(),
  /** Only these paths: a prefix (`/repos`), or a glob with `*` and `**`. */
  paths: z.array(z.string().regex(/^\/[^?#\s]*$/, 'a path pattern starts with /')).optional(),
});

/** The whole configuration file, with every default filled in. */
export const configSchema = z.strictObject({
  listen: hostPort('the proxy listener').default('127.0.0.1:8790'),
  admin: hostPort('the admin listener').default('127.0.0.1:8791'),
  home: z.string().min(1).optional(),
  vault: z
    .strictObject({
      backend: z.enum(['auto', 'keychain', 'file']).default('auto'),
      key: z
        .string()
        .regex(/^(env|file):.+$/, 'expected env:NAME or file:PATH')
        .optional(),
    })
    .prefault({}),
  auth: z.strictObject({ required: z.boolean().default(true) }).prefault({}),
  upstream: z
    .strictObject({
      ca_file: z.string().min(1).optional(),
      timeout_ms: positiveMs.default(60_000),
      connect_timeout_ms: positiveMs.default(10_000),
      max_sockets_per_origin: z.number().int().positive().default(256),
    })
    .prefault({}),
  resolve: z
    .record(hostPort('the overridden host'), hostPort('the address to use instead'))
    .default({}),
  intercept: z.array(hostName).default([]),
  egress: z
    .strictObject({
      /**
       * Networks (CIDR) or addresses a credential may go to although they are
       * private or loopback: local development APIs. Metadata addresses stay
       * refused.
       */
      allow: z
        .array(z.string().refine(isNetwork, { message: 'expected an address or CIDR network' }))
        .default([]),
    })
    .prefault({}),
  providers: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
      providerSchema,
    )
    .default({}),
  routes: z.array(routeSchema).default([]),
  audit: z
    .strictObject({
      retention_days: z.number().int().positive().default(30),
      mode: z.enum(['best_effort', 'required']).default('best_effort'),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      format: z.enum(['auto', 'json', 'pretty']).default('auto'),
    })
    .prefault({}),
  limits: z
    .strictObject({
      max_header_bytes: z.number().int().min(1024).max(1_048_576).default(16_384),
      header_timeout_ms: positiveMs.default(10_000),
      keep_alive_timeout_ms: positiveMs.default(30_000),
      idle_timeout_ms: positiveMs.default(300_000),
      tls_handshake_timeout_ms: positiveMs.default(10_000),
      /** Open client connections and tunnels at most; more are turned away. */
      max_connections: z.number().int().positive().default(10_000),
      per_key: z
        .strictObject({
          /** Requests in flight per app key; 0 turns the limit off. */
          concurrency: z.number().int().min(0).default(256),
          /** Sustained requests per second per key; 0 (the default) turns it off. */
          rate_per_s: z.number().min(0).default(0),
          /** Requests above the rate a key may send in one burst. */
          burst: z.number().int().positive().default(50),
        })
        .prefault({}),
    })
    .prefault({}),
  shutdown: z.strictObject({ grace_ms: z.number().int().min(0).default(10_000) }).prefault({}),
});

/** The configuration as the file states it, before defaults. */
export type ConfigInput = z.input<typeof configSchema>;
/** The configuration with defaults applied, as every module reads it. */
export type Config = z.output<typeof configSchema>;
export type ProviderConfig = z.output<typeof providerSchema>;
