import type { Credential } from '../vault/vault.js';
import type { CliContext } from './context.js';
import { requireApp } from './context.js';

/** The version the CLI key is stored under; it is replaced, never versioned. */
const CLI_KEY_VERSION = 1;

/**
 * The key `grantd env --app` and `grantd run --app` put in the proxy URL.
 * Minted once per app and kept in the vault (the only place grantd keeps a
 * secret), so every shell and child gets the same key; minted again when
 * someone revoked it.
 */
export async function cliKeyFor(ctx: CliContext, appName: string): Promise<string> {
  const app = requireApp(ctx, appName);
  const vault = await ctx.vault();
  const id = `cli-key:${app.id}`;
  const stored = await vault.get(id, CLI_KEY_VERSION);
  if (stored?.kind === 'static' && ctx.store.keys.verify(stored.token)?.appId === app.id) {
    return stored.token;
  }
  const { key } = ctx.store.keys.mint(app.id);
  const credential: Credential = { kind: 'static', token: key };
  await vault.put(id, credential, CLI_KEY_VERSION);
  return key;
}
