// Spawns real `node` processes that import the built vault in dist/ (Node 20 cannot load
// TypeScript): `npm test` builds first; run `npm run build` before running this file alone.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

import { beforeAll, expect, it } from 'vitest';

import { Vault } from '../../../src/vault/vault.js';
import { DIST_VAULT, assertVaultBuilt } from '../../helpers/keyring.js';
import { captureLogger, listFiles, tempHome } from './util.js';

const WRITER = `
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Vault } from ${JSON.stringify(pathToFileURL(DIST_VAULT).href)};

const [home, name, count, go] = process.argv.slice(2);
const quiet = () => {};
const logger = { debug: quiet, info: quiet, warn: quiet, error: (o, m) => console.error(m) };
console.log('ready');
while (!existsSync(go)) await sleep(2);
// Both processes open a fresh data folder at once: they must also agree on one vault.key.
const vault = await Vault.open({ home, vault: { backend: 'file' } }, { logger });
for (let i = 0; i < Number(count); i += 1) {
  await vault.put(name + '-' + i, { kind: 'static', token: 'token-' + name + '-' + i }, 1);
}
console.log('done');
`;

beforeAll(() => assertVaultBuilt());

it('keeps every write when two processes write the same vault at once', async () => {
  const home = tempHome();
  const dir = dirname(home);
  const script = join(dir, 'writer.mjs');
  const go = join(dir, 'go');
  writeFileSync(script, WRITER);

  const children = ['a', 'b'].map((name) => {
    const child = spawn(process.execPath, [script, home, name, '50', go], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout });
    const ready = new Promise<void>((resolve) =>
      lines.on('line', (l) => l === 'ready' && resolve()),
    );
    const exited = once(child, 'close').then(([code]) => ({ code: code as number, stderr }));
    return { ready, exited };
  });
  await Promise.all(children.map((c) => c.ready));
  writeFileSync(go, '');
  const results = await Promise.all(children.map((c) => c.exited));
  expect(results).toEqual([
    { code: 0, stderr: '' },
    { code: 0, stderr: '' },
  ]);

  const vault = await Vault.open(
    { home, vault: { backend: 'file' } },
    { logger: captureLogger().logger },
  );
  for (const name of ['a', 'b']) {
    for (let i = 0; i < 50; i += 1) {
      expect(await vault.get(`${name}-${i}`, 1)).toEqual({
        kind: 'static',
        token: `token-${name}-${i}`,
      });
    }
  }
  // No temp file or lock left behind.
  expect(listFiles(home)).toEqual(['vault.enc', 'vault.key']);
});
