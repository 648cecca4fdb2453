import type { ArgumentsCamelCase } from 'yargs';

import { cliKeyFor } from '../app-key.js';
import type { GlobalArgs } from '../cli.js';
import { loadConfigForCli } from '../config.js';
import { withContext } from '../context.js';
import { buildProxyEnv, renderEnv, type ProxyEnv, type Shell } from '../proxy-env.js';

export interface AppArgs extends GlobalArgs {
  app?: string | undefined;
  grant?: string | undefined;
}

/**
 * The variables for `env` and `run`. With `--app`, the proxy URL carries that
 * app's key (and `--grant` as the user name, which picks the grant for calls
 * to its provider's hosts); `_` as the user names no grant.
 */
export async function proxyEnvFor(args: AppArgs): Promise<ProxyEnv> {
  const app = args.app;
  if (app === undefined) return buildProxyEnv(loadConfigForCli(args.config));
  return withContext(args.config, async (ctx) =>
    buildProxyEnv(ctx.config, { user: args.grant ?? '_', key: await cliKeyFor(ctx, app) }),
  );
}

export async function env(args: ArgumentsCamelCase<AppArgs & { shell: Shell }>): Promise<void> {
  process.stdout.write(renderEnv(await proxyEnvFor(args), args.shell));
}
