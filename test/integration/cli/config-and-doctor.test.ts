import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { freePort, runCli, tempDir } from '../../helpers/daemon.js';

function writeConfig(text: string): string {
  const path = join(tempDir(), 'grantd.yaml');
  writeFileSync(path, text);
  return path;
}

describe('config errors', () => {
  it('name the key and the value at fault, all at once, with exit code 3', async () => {
    const config = writeConfig(
      'listen: nowhere\nupstream:\n  timeout_ms: -5\nlog:\n  level: loud\n',
    );
    const result = await runCli(['start', '--config', config]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      'listen: expected the proxy listener as host:port, e.g. 127.0.0.1:8790 (got "nowhere")',
    );
    expect(result.stderr).toMatch(/upstream\.timeout_ms: .* \(got -5\)/);
    expect(result.stderr).toMatch(/log\.level: .* \(got "loud"\)/);
  });

  it('name a missing environment variable and the key that wanted it', async () => {
    const config = writeConfig(
      'providers:\n  acme:\n    auth: api_key\n    hosts: [api.acme.test]\n    client_secret: ${ACME_SECRET_NOT_SET}\n',
    );
    const result = await runCli(['start', '--config', config], {
      env: { ACME_SECRET_NOT_SET: undefined },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      'providers.acme.client_secret: environment variable ACME_SECRET_NOT_SET is not set',
    );
  });

  it('name unknown keys', async () => {
    const result = await runCli(['doctor', '--config', writeConfig('lisen: 127.0.0.1:1\n')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL\s+config\s+\(top level\): unknown key lisen/);
  });

  it('report a file that does not exist', async () => {
    const result = await runCli(['start', '--config', '/nonexistent/grantd.yaml']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('cannot read config file /nonexistent/grantd.yaml: ENOENT');
  });
});

/** A port something else holds, for the listener check. */
async function holdPort(): Promise<{ port: number; close: () => void }> {
  const { createServer } = await import('node:net');
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  return { port, close: () => server.close() };
}

describe('grantd doctor in a broken setup', () => {
  it('names each problem with its fix and exits 1', async () => {
    const blocker = join(tempDir(), 'a-file');
    writeFileSync(blocker, 'not a folder');
    const busy = await holdPort();
    const config = writeConfig(
      `home: ${blocker}/home\nadmin: 127.0.0.1:${await freePort()}\nlisten: 127.0.0.1:${busy.port}\n` +
        `providers:\n  slack:\n    client_id: '123.456'\n`,
    );
    const result = await runCli(['doctor', '--config', config]);
    busy.close();
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/slack: providers\.slack\.client_secret not set/);
    expect(result.stdout).toMatch(
      /^FAIL\s+port\s+listen 127\.0\.0\.1:\d+ cannot be bound \(EADDRINUSE\)/m,
    );
    expect(result.stdout).toMatch(/^FAIL\s+data\s+.*not writable \(ENOTDIR\)/m);
    expect(result.stdout).toMatch(/^FAIL\s+ca\s+no CA at/m);
    expect(result.stdout).toMatch(/fix: run grantd start/);
    expect(result.stdout).toMatch(/^warn\s+daemon\s+not running/m);
  });

  it('exits 0 in a good setup, where only hints remain', async () => {
    const home = join(tempDir(), 'home');
    const config = writeConfig(
      `home: ${home}\nadmin: 127.0.0.1:${await freePort()}\nlisten: 127.0.0.1:${await freePort()}\n`,
    );
    expect((await runCli(['ca', 'path', '--config', config])).code).toBe(0);
    const result = await runCli(['doctor', '--config', config]);
    expect(result.stdout).not.toMatch(/^FAIL/m);
    expect(result.stdout).toMatch(/^ok\s+ca\s+.*SHA-256/m);
    expect(result.code).toBe(0);
  });

  it('reports as JSON with --json', async () => {
    const home = join(tempDir(), 'home');
    mkdirSync(home);
    const config = writeConfig(
      `home: ${home}\nadmin: 127.0.0.1:${await freePort()}\nlisten: 127.0.0.1:${await freePort()}\n`,
    );
    const result = await runCli(['doctor', '--json', '--config', config]);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      checks: { check: string; status: string }[];
    };
    expect(report.ok).toBe(false);
    expect(report.checks.map((c) => [c.check, c.status])).toEqual([
      ['config', 'ok'],
      ['data', 'ok'],
      ['ca', 'fail'],
      ['trust', 'warn'],
      ['clock', 'ok'],
      ['store', 'ok'],
      ['vault', 'ok'],
      ['daemon', 'warn'],
      ['port', 'ok'],
      ['port', 'ok'],
    ]);
  });
});
