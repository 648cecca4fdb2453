import { GrantdError } from '../errors.js';
import type { Provider } from '../providers/registry.js';
import type { Grant } from '../store/grants.js';
import type { Vault } from '../vault/vault.js';

/** A credential ready to inject, and whether getting it took a refresh. */
export interface FreshToken {
  token: string;
  refreshed: boolean;
}

/**
 * Where the proxy gets the credential for a grant. The daemon uses
 * OAuthTokenSource (src/oauth/refresher.ts): static credentials straight from
 * the vault (cached there by secret version), OAuth access tokens refreshed
 * when near expiry. VaultTokenSource below never refreshes.
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

/** Reads credentials from the vault as they are; for tools that must not call providers. */
export class VaultTokenSource implements TokenSource {
  readonly #vault: Vault;

  constructor(vault: Vault) {
    this.#vault = vault;
  }

  async tokenFor(grant: Grant): Promise<FreshToken> {
    const credential = await this.#vault.get(grant.id, grant.secretVersion);
    if (!credential) {
      throw new GrantdError('vault_unavailable', 'The vault holds no credential for this grant.');
    }
    const token = credential.kind === 'static' ? credential.token : credential.access_token;
    return { token, refreshed: false };
  }
}
