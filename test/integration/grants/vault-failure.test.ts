import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startInProcess, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';

const TOKEN = 'sk-vault-failure-test-0123456789';

let upstream: TestUpstream;
let grantd: InProcessDaemon;
let agent: ProxyAgent;
let vaultFile: string;
let intact: Buffer;

beforeAll(async () => {
  const pki = await createTestPki();
  upstream = await startUpstream(await pki.issue(['api.openai.com']));
  grantd = await startInProcess({
    vault: { backend: 'file' },
    resolve: { 'api.openai.com:443': `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath },
  });
  const cli = cliFor(grantd.config.home);
  await cli.createApp('app');
  const key = await cli.mintKey('app');
  await cli.addGrant('openai', 'app', 'ai', TOKEN);
  agent = new ProxyAgent({
    uri: proxyWith(grantd.proxyUrl, '_', key),
    requestTls: { ca: grantd.daemon.authority.certPem },
  });
  vaultFile = join(grantd.config.home, 'vault.enc');
  intact = readFileSync(vaultFile);
});

afterAll(async () => {
  await agent?.close();
  await grantd?.close();
  await upstream?.close();
});

async function call(path: string) {
  const res = await request(`https://api.openai.com${path}`, {
    dispatcher: agent,
    headers: { 'grantd-grant': 'ai' },
  });
  const body = await res.body.text();
  return { status: res.statusCode, code: res.headers['grantd-error'], body };
}

// The daemon has not read this grant yet, so every request below goes to the file.
describe('a vault file that cannot be read', () => {
  it('answers 503 vault_unavailable for a flipped byte and leaves the file as it is', async () => {
    const tampered = Buffer.from(intact);
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] as number) ^ 0xff;
    writeFileSync(vaultFile, tampered);
    const before = upstream.seen.length;

    const result = await call('/v1/tampered');
    expect(result.status).toBe(503);
    expect(result.code).toBe('vault_unavailable');
    expect(result.body).not.toContain(TOKEN);
    expect(upstream.seen.length).toBe(before);
    expect(readFileSync(vaultFile).equals(tampered)).toBe(true);
  });

  it('answers 503 for a truncated file too, and the daemon logs what to do', async () => {
    writeFileSync(vaultFile, intact);
    truncateSync(vaultFile, 20);
    const result = await call('/v1/truncated');
    expect(result.status).toBe(503);
    expect(result.code).toBe('vault_unavailable');
    expect(readFileSync(vaultFile)).toHaveLength(20);
    const lines = grantd.logs.filter(
      (line) => line.level === 50 && /vault/i.test(String(line.msg)),
    );
    expect(lines.length).toBeGreaterThan(0);
  });

  it('recovers without a restart once the file is restored', async () => {
    writeFileSync(vaultFile, intact);
    const result = await call('/v1/restored');
    expect(result.status).toBe(200);
    expect(upstream.seen.at(-1)?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });
});
