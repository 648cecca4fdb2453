import { expect } from 'vitest';

import { runCli } from './daemon.js';

/**
 * Drives the real CLI against a data folder, as a user in another terminal
 * would while the daemon runs. Fails the test on a non-zero exit.
 */
export function cliFor(home: string, configPath = '') {
  const env = { GRANTD_HOME: home, GRANTD_CONFIG: configPath };
  const run = async (args: string[], input?: string) => {
    const result = await runCli(args, { env, input });
    expect(result.code, `grantd ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result;
  };
  return {
    run,
    /** Runs and returns what the command printed, including failures. */
    try: (args: string[], input?: string) => runCli(args, { env, input }),
    createApp: (name: string) => run(['app', 'create', name]),
    mintKey: async (app: string) => (await run(['key', 'mint', '--app', app])).stdout.trim(),
    addGrant: async (provider: string, app: string, alias: string, token: string) =>
      (
        await run(
          ['grant', 'add', provider, '--app', app, '--alias', alias, '--token-stdin'],
          token,
        )
      ).stdout.trim(),
    auditJson: async (args: string[] = []) =>
      (await run(['audit', '--json', ...args])).stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** A proxy URL carrying a user name and key, as apps configure HTTPS_PROXY. */
export function proxyWith(proxyUrl: string, user: string, key: string): string {
  const url = new URL(proxyUrl);
  url.username = user;
  url.password = key;
  return url.toString().replace(/\/$/, '');
}
