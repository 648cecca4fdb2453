import type { ArgumentsCamelCase } from 'yargs';

import type { GlobalArgs } from '../cli.js';
import { fail, requireApp, withContext } from '../context.js';
import { formatTable, formatTime, printJsonLines } from '../table.js';

export async function keyMint(args: ArgumentsCamelCase<GlobalArgs & { app: string }>) {
  await withContext(args.config, (ctx) => {
    const app = requireApp(ctx, args.app);
    const { id, key } = ctx.store.keys.mint(app.id);
    // The key alone on stdout, so `KEY=$(grantd key mint --app x)` works.
    process.stdout.write(`${key}\n`);
    process.stderr.write(
      `minted ${id} for app ${app.name}. It is shown this once: store it now. ` +
        `Use it as the proxy password: http://_:<key>@${ctx.config.listen}\n`,
    );
  });
}

export async function keyList(
  args: ArgumentsCamelCase<GlobalArgs & { app?: string; json?: boolean }>,
) {
  await withContext(args.config, (ctx) => {
    const appId = args.app === undefined ? undefined : requireApp(ctx, args.app).id;
    const keys = ctx.store.keys.list(appId);
    if (args.json) {
      printJsonLines(
        keys.map((k) => ({
          id: k.id,
          app: k.appName,
          created_at: new Date(k.createdAt).toISOString(),
          last_used_at: k.lastUsedAt === undefined ? null : new Date(k.lastUsedAt).toISOString(),
          revoked_at: k.revokedAt === undefined ? null : new Date(k.revokedAt).toISOString(),
        })),
      );
      return;
    }
    if (keys.length === 0) {
      process.stderr.write('no keys; grantd key mint --app NAME makes one\n');
      return;
    }
    process.stdout.write(
      formatTable(
        ['ID', 'APP', 'CREATED', 'LAST USED', 'STATUS'],
        keys.map((k) => [
          k.id,
          k.appName,
          formatTime(k.createdAt),
          formatTime(k.lastUsedAt),
          k.revokedAt === undefined ? 'active' : `revoked ${formatTime(k.revokedAt)}`,
        ]),
      ),
    );
  });
}

export async function keyRevoke(args: ArgumentsCamelCase<GlobalArgs & { id: string }>) {
  await withContext(args.config, (ctx) => {
    const key = ctx.store.keys.byId(args.id);
    if (!key) fail(`no key ${args.id} (grantd key list shows them)`);
    if (!ctx.store.keys.revoke(args.id)) {
      process.stderr.write(`${args.id} was already revoked\n`);
      return;
    }
    process.stderr.write(`revoked ${args.id} of app ${key.appName}; it stops working now\n`);
  });
}
