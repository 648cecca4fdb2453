import { pino, type Logger } from 'pino';
import { build as buildPretty } from 'pino-pretty';

import type { LoadedConfig } from '../config/load.js';
import { ProviderRegistry } from '../providers/registry.js';
import type { App } from '../store/apps.js';
import { Store } from '../store/store.js';
import { Vault } from '../vault/vault.js';
import { loadConfigForCli } from './config.js';
import { EXIT, ExitError } from './exit.js';

/** What a management command works on: the config, the store, and on demand the vault. */
export interface CliContext {
  config: LoadedConfig;
  store: Store;
  providers: ProviderRegistry;
  /** Opens the vault on first use; commands that need no secret never touch it. */
  vault(): Promise<Vault>;
  close(): void;
}

export function openCliContext(configFile: string | undefined): CliContext {
  const config = loadConfigForCli(configFile);
  let store: Store;
  try {
    store = Store.open(config.home);
  } catch (error) {
    throw new ExitError(
      EXIT.failure,
      `grantd: cannot open the database in ${config.home}: ${(error as Error).message}`,
    );
  }
  let vault: Promise<Vault> | undefined;
  return {
    config,
    store,
    providers: new ProviderRegistry(config.providers),
    vault: () => (vault ??= Vault.open(config, { logger: cliLogger() })),
    close: () => store.close(),
  };
}

/** Runs a command body with a context, closing the store however it ends. */
export async function withContext<T>(
  configFile: string | undefined,
  body: (ctx: CliContext) => Promise<T> | T,
): Promise<T> {
  const ctx = openCliContext(configFile);
  try {
    return await body(ctx);
  } finally {
    ctx.close();
  }
}

/** Warnings from the vault and store, as readable lines on stderr. */
export function cliLogger(): Logger {
  return pino(
    { level: 'warn', base: undefined },
    buildPretty({
      destination: 2,
      sync: true,
      colorize: process.stderr.isTTY === true,
      ignore: 'pid,hostname,time',
    }),
  );
}

export function requireApp(ctx: CliContext, name: string): App {
  const app = ctx.store.apps.byName(name);
  if (!app) {
    throw new ExitError(
      EXIT.failure,
      `grantd: no app named ${name} (grantd app list shows them; grantd app create ${name} makes it)`,
    );
  }
  return app;
}

export function fail(message: string, code: number = EXIT.failure): never {
  throw new ExitError(code, `grantd: ${message}`);
}
