import type { ArgumentsCamelCase } from 'yargs';

import { openInBrowser } from '../../oauth/connect/browser.js';
import { LOGIN_TOKEN_TTL_MS, LoginTokens } from '../../portal/login-tokens.js';
import { loginLink, portalOrigin } from '../../portal/login-link.js';
import type { GlobalArgs } from '../cli.js';
import { fail, withContext } from '../context.js';
import { EXIT } from '../exit.js';

interface PortalArgs extends GlobalArgs {
  /** False with `--no-browser`: print the link only. */
  browser?: boolean;
}

/** How long the daemon may take to answer its health probe. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * `grantd portal`: mints a one-time login link in the data folder's store,
 * prints it alone on stdout, and opens it unless `--no-browser`. The running
 * daemon redeems the link; without one there is nothing to open, so that is
 * checked first.
 */
export async function portal(args: ArgumentsCamelCase<PortalArgs>): Promise<number> {
  return withContext(args.config, async (ctx) => {
    const origin = portalOrigin(ctx.config.admin);
    if (origin === undefined) {
      fail(
        `admin: ${ctx.config.admin} is not an address a link can name (port 0 picks a random one); set admin: to a fixed address such as 127.0.0.1:8791`,
        EXIT.config,
      );
    }
    if (!(await isDaemonUp(origin))) {
      fail(
        `grantd does not answer at ${origin}: start it first (grantd start, with the same --config), then run grantd portal again`,
      );
    }

    const { token } = new LoginTokens(ctx.store.db).mint();
    const link = loginLink(origin, token);
    // The link alone on stdout, so `grantd portal --no-browser | xclip` works.
    process.stdout.write(`${link}\n`);
    const minutes = Math.round(LOGIN_TOKEN_TTL_MS / 60_000);
    if (args.browser !== false && (await openInBrowser(link))) {
      process.stderr.write(`Opened the portal in your browser. `);
    } else if (args.browser !== false) {
      process.stderr.write('No browser could be opened here: open the link above yourself. ');
    }
    process.stderr.write(
      `The link signs in once, within ${minutes} minutes, on this machine; grantd portal makes a new one.\n`,
    );
    return EXIT.ok;
  });
}

async function isDaemonUp(origin: string): Promise<boolean> {
  try {
    const res = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
