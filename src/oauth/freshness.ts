import type { ProviderSpec } from '../providers/schema.js';
import type { Credential } from '../vault/vault.js';

export type OAuthCredential = Extract<Credential, { kind: 'oauth' }>;

/**
 * How long before expiry a token counts as stale: the provider's
 * `refresh_margin_s` (default 300 s), but never more than half the token's
 * lifetime, so a token issued for 5 minutes is not stale the moment it
 * arrives.
 */
export function refreshMarginMs(
  spec: Pick<ProviderSpec, 'refresh_margin_s'>,
  credential: OAuthCredential,
): number {
  if (credential.expires_at === undefined) return 0;
  const half = (credential.expires_at - credential.obtained_at) / 2;
  return Math.max(0, Math.min(spec.refresh_margin_s * 1000, half));
}

/** Whether the token may be used without refreshing first. No expiry: used until a 401. */
export function isFresh(
  spec: Pick<ProviderSpec, 'refresh_margin_s'>,
  credential: OAuthCredential,
  now: number,
): boolean {
  if (credential.expires_at === undefined) return true;
  return now < credential.expires_at - refreshMarginMs(spec, credential);
}

/** Whether the provider itself has passed the token's end of life. */
export function isExpired(credential: OAuthCredential, now: number): boolean {
  return credential.expires_at !== undefined && credential.expires_at <= now;
}
