import { writeFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';

import type { ArgumentsCamelCase } from 'yargs';

import { loadOrCreateAuthority, type Authority } from '../../ca/authority.js';
import type { GlobalArgs } from '../cli.js';
import { loadConfigForCli } from '../config.js';

async function authority(args: GlobalArgs): Promise<Authority> {
  const config = loadConfigForCli(args.config);
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  return loadOrCreateAuthority(config.home);
}

export async function caPath(args: ArgumentsCamelCase<GlobalArgs>): Promise<void> {
  process.stdout.write(`${(await authority(args)).paths.cert}\n`);
}

export async function caExport(
  args: ArgumentsCamelCase<GlobalArgs & { out?: string }>,
): Promise<void> {
  const ca = await authority(args);
  if (args.out === undefined) {
    process.stdout.write(ca.certPem);
    return;
  }
  writeFileSync(args.out, ca.certPem, { mode: 0o644 });
  process.stderr.write(`wrote the grantd CA to ${args.out} (SHA-256 ${ca.fingerprint256})\n`);
}
