import type { Provider } from '../providers/registry.js';
import type { Grant } from '../store/grants.js';

/** A credential ready to inject, and whether getting it took a refresh. */
export interface FreshToken {
  token: string;
  refreshed: boolean;
}

/**
 * Where the proxy gets the credential for a grant. The daemon uses
 * OAuthTokenSource (src/oauth/refresher.ts): static credentials straight from
 * the vault (cached there by secret version), OAuth access tokens refreshed
 * when near expiry.
 */
export interface TokenSource {
  tokenFor(grant: Grant, provider: Provider): Promise<FreshToken>;
  /**
   * After the upstream rejected `rejected` with a 401: a refreshed token, or
   * undefined when the grant cannot refresh. Absent for sources that never can.
   */
  forceRefresh?(
    grant: Grant,
    provider: Provider,
    rejected: string,
  ): Promise<FreshToken | undefined>;
}
