import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runProcess } from '../../helpers/clients.js';
import { CLI, freePort, runCli, spawnDaemon, type ChildDaemon } from '../../helpers/daemon.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

let upstream: TestUpstream;
let grantd: ChildDaemon;

beforeAll(async () => {
  const pki = await createTestPki();
  upstream = await startUpstream(await pki.issue(['api.grantd.test']));
  // `grantd run` and `grantd env` read the proxy address from the config, so
  // the daemon gets fixed ports here rather than ephemeral ones.
  grantd = await spawnDaemon({
    // Proxy mechanics only: app keys are covered in test/integration/grants.
    auth: { required: false },
    listen: `127.0.0.1:${await freePort()}`,
    admin: `127.0.0.1:${await freePort()}`,
    intercept: ['api.grantd.test'],
    resolve: { 'api.grantd.test:443': `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath },
  });
});

afterAll(async () => {
  await grantd?.stop();
  await upstream?.close();
});

function cli(...args: string[]) {
  return runCli(['--config', grantd.configPath, ...args]);
}

describe('grantd run', () => {
  it('runs curl through grantd with no other flags', async () => {
    const result = await cli('run', '--', 'curl', '-sS', 'https://api.grantd.test/from-curl');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ url: '/from-curl' });
    expect(upstream.seen.at(-1)?.url).toBe('/from-curl');
  });

  it('runs Python requests through grantd with no other flags', async () => {
    const result = await cli(
      'run',
      '--',
      'python3',
      '-c',
      'import requests; r = requests.get("https://api.grantd.test/from-python", timeout=20); print(r.status_code, r.json()["url"])',
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('200 /from-python');
  });

  it("passes the program's exit code through", async () => {
    expect((await cli('run', '--', 'sh', '-c', 'exit 7')).code).toBe(7);
  });

  it('says so when the program does not exist, with exit code 127', async () => {
    const result = await cli('run', '--', 'no-such-program-xyz');
    expect(result.code).toBe(127);
    expect(result.stderr).toContain('no-such-program-xyz: command not found');
  });

  it('needs a program after --', async () => {
    const result = await cli('run');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('name a program after --');
  });
});

describe('grantd env', () => {
  it('prints sh exports that make curl in that shell go through grantd', async () => {
    const script = `eval "$('${process.execPath}' '${CLI}' env --config '${grantd.configPath}')" && curl -sS https://api.grantd.test/from-env`;
    const result = await runProcess('sh', ['-c', script]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ url: '/from-env' });
  });

  it('names every variable clients read, in each shell syntax', async () => {
    const names = [
      'HTTPS_PROXY',
      'HTTP_PROXY',
      'https_proxy',
      'http_proxy',
      'NO_PROXY',
      'no_proxy',
      'NODE_USE_ENV_PROXY',
      'NODE_EXTRA_CA_CERTS',
      'SSL_CERT_FILE',
      'REQUESTS_CA_BUNDLE',
      'CURL_CA_BUNDLE',
      'GIT_SSL_CAINFO',
      'DENO_CERT',
    ];
    const patterns = {
      sh: (n: string) => new RegExp(`^export ${n}='[^']+'$`, 'm'),
      fish: (n: string) => new RegExp(`^set -gx ${n} '[^']+'$`, 'm'),
      powershell: (n: string) => new RegExp(`^\\$env:${n} = '[^']+'$`, 'm'),
      dotenv: (n: string) => new RegExp(`^${n}="[^"]+"$`, 'm'),
    };
    for (const [shell, pattern] of Object.entries(patterns)) {
      const result = await cli('env', '--shell', shell);
      expect(result.code, shell).toBe(0);
      for (const name of names) expect(result.stdout, `${shell} ${name}`).toMatch(pattern(name));
    }
    const sh = (await cli('env')).stdout;
    const port = new URL(grantd.proxyUrl).port;
    expect(sh).toContain(`export HTTPS_PROXY='http://127.0.0.1:${port}'`);
    expect(sh).toContain(`export NODE_EXTRA_CA_CERTS='${grantd.home}/ca/ca.pem'`);
    const bundle = readFileSync(`${grantd.home}/ca/bundle.pem`, 'utf8');
    expect(bundle).toContain(readFileSync(`${grantd.home}/ca/ca.pem`, 'utf8').trim());
  });

  it('refuses an unknown shell with a usage error', async () => {
    const result = await cli('env', '--shell', 'tcsh');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Invalid values|Choices/);
  });
});

describe('grantd ca', () => {
  it('prints the CA path, and exports the same certificate', async () => {
    const path = await cli('ca', 'path');
    expect(path.stdout.trim()).toBe(`${grantd.home}/ca/ca.pem`);
    const exported = await cli('ca', 'export');
    expect(exported.stdout).toBe(readFileSync(path.stdout.trim(), 'utf8'));
    expect(exported.stdout).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });
});

describe('grantd doctor', () => {
  it('passes with a running daemon and shows the CA fingerprint', async () => {
    const result = await cli('doctor');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok\s+ca\s+.*SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/m);
    expect(result.stdout).toMatch(/^ok\s+daemon\s+ready/m);
  });
});
