/**
 * Every error grantd itself answers with, keyed by the stable code that goes in
 * the `Grantd-Error` header and the JSON body. Callers, logs and audit rows
 * match on the code, never on the message. `docs/errors.md` lists the same
 * table and a test keeps the two in step.
 */
export const ERROR_CATALOG = {
  bad_request: { status: 400, message: 'The request is malformed.' },
  grant_needs_reauth: {
    status: 401,
    message: 'The provider no longer accepts this grant; connect it again.',
  },
  grant_not_found: { status: 403, message: 'No such grant for this app.' },
  host_not_allowed: {
    status: 403,
    message: "The grant's provider does not cover this host.",
  },
  cleartext_refused: {
    status: 403,
    message: 'A credential would be sent to the upstream without TLS.',
  },
  destination_refused: {
    status: 403,
    message: 'grantd does not send credentials to this address.',
  },
  policy_denied: { status: 403, message: "The grant's rules refuse this request." },
  proxy_auth_required: {
    status: 407,
    message: 'A valid app key is required as the proxy password.',
  },
  rate_limited: { status: 429, message: 'Too many requests for this key.' },
  upstream_unreachable: { status: 502, message: 'The upstream could not be reached.' },
  upstream_tls_error: {
    status: 502,
    message: "The upstream's TLS certificate could not be verified.",
  },
  token_refresh_failed: { status: 502, message: "The provider's token endpoint failed." },
  vault_unavailable: { status: 503, message: 'The vault cannot be read.' },
  audit_unavailable: { status: 503, message: 'The audit log cannot be written.' },
  upstream_timeout: { status: 504, message: 'The upstream did not answer in time.' },
  internal_error: { status: 500, message: 'grantd failed to handle the request.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export function statusFor(code: ErrorCode): number {
  return ERROR_CATALOG[code].status;
}

/**
 * An error that maps to a response grantd makes. The message is safe to send
 * to the client; internal detail belongs in `cause`, which is only logged.
 */
export class GrantdError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CATALOG[code].message, options);
    this.name = 'GrantdError';
    this.code = code;
  }

  get status(): number {
    return statusFor(this.code);
  }
}

/** A problem found while loading configuration: every issue, one per line. */
export class ConfigError extends Error {
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super(`invalid configuration:\n${issues.map((issue) => `  ${issue}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
