import type { ArgumentsCamelCase } from 'yargs';

import type { GlobalArgs } from '../cli.js';
import { loadConfigForCli } from '../config.js';
import { buildProxyEnv, renderEnv, type Shell } from '../proxy-env.js';

export async function env(args: ArgumentsCamelCase<GlobalArgs & { shell: Shell }>): Promise<void> {
  const config = loadConfigForCli(args.config);
  process.stdout.write(renderEnv(await buildProxyEnv(config), args.shell));
}
