import type { ArgumentsCamelCase } from 'yargs';

import { APP_NAME, StoreConflict } from '../../store/apps.js';
import type { GlobalArgs } from '../cli.js';
import { fail, requireApp, withContext } from '../context.js';
import { EXIT } from '../exit.js';
import { formatTable, formatTime, printJsonLines } from '../table.js';

type NameArgs = ArgumentsCamelCase<GlobalArgs & { name: string; json?: boolean }>;

export async function appCreate(args: NameArgs): Promise<void> {
  if (!APP_NAME.test(args.name)) {
    fail(
      `app name ${JSON.stringify(args.name)} is not valid: use lower-case letters, digits, ., _ and -, starting with a letter or digit`,
      EXIT.usage,
    );
  }
  await withContext(args.config, (ctx) => {
    let app;
    try {
      app = ctx.store.apps.create(args.name);
    } catch (error) {
      if (error instanceof StoreConflict) fail(`an app named ${args.name} already exists`);
      throw error;
    }
    if (args.json) printJsonLines([{ id: app.id, name: app.name }]);
    process.stderr.write(
      `created app ${app.name} (${app.id})\nNext: grantd key mint --app ${app.name}\n`,
    );
  });
}

export async function appList(args: ArgumentsCamelCase<GlobalArgs & { json?: boolean }>) {
  await withContext(args.config, (ctx) => {
    const apps = ctx.store.apps.list().map((app) => ({
      id: app.id,
      name: app.name,
      keys: ctx.store.keys.list(app.id).filter((key) => key.revokedAt === undefined).length,
      grants: ctx.store.grants.list(app.id).length,
      created_at: new Date(app.createdAt).toISOString(),
      createdAt: app.createdAt,
    }));
    if (args.json) {
      printJsonLines(apps.map(({ createdAt: _, ...rest }) => rest));
      return;
    }
    if (apps.length === 0) {
      process.stderr.write('no apps yet; grantd app create NAME makes one\n');
      return;
    }
    process.stdout.write(
      formatTable(
        ['NAME', 'ID', 'KEYS', 'GRANTS', 'CREATED'],
        apps.map((a) => [a.name, a.id, String(a.keys), String(a.grants), formatTime(a.createdAt)]),
      ),
    );
  });
}

/** Deletes an app with its keys and grants, and the grants' secrets from the vault. */
export async function appDelete(args: NameArgs): Promise<void> {
  await withContext(args.config, async (ctx) => {
    const app = requireApp(ctx, args.name);
    const grants = ctx.store.grants.list(app.id);
    if (grants.length > 0) {
      const vault = await ctx.vault();
      for (const grant of grants) await vault.delete(grant.id);
    }
    ctx.store.apps.delete(app.id);
    process.stderr.write(
      `deleted app ${app.name} with its keys and ${grants.length} grant${grants.length === 1 ? '' : 's'}\n`,
    );
  });
}
