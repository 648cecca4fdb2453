import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ProxyAgent, request } from 'undici';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { spawnDaemon, tempDir, type ChildDaemon } from '../../helpers/daemon.js';
import {
  API_HOST,
  CLIENT_SECRET,
  startFakeOAuth,
  type FakeOAuth,
} from '../../helpers/fake-oauth.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';

let fake: FakeOAuth;
let grantd: ChildDaemon;
let agent: ProxyAgent;
let secretFile: string;
let baseConfig: Record<string, unknown>;

beforeAll(async () => {
  fake = await startFakeOAuth(await createTestPki());
  secretFile = join(tempDir(), 'client-secret');
  writeFileSync(secretFile, `${CLIENT_SECRET}\n`);
  const config = fake.config();
  const providers = config.providers as Record<string, Record<string, unknown>>;
  providers.fake = { ...providers.fake, client_secret: `file:${secretFile}` };
  baseConfig = { ...config };
  grantd = await spawnDaemon(baseConfig);

  const cli = cliFor(grantd.home, grantd.configPath);
  await cli.createApp('app');
  const key = await cli.mintKey('app');
  // An access token that expired a minute ago: the next call refreshes it.
  const tokens = fake.mintTokens();
  const set = { ...tokens, expires_in: undefined, expires_at: Math.floor(Date.now() / 1000) - 60 };
  await cli.run(['grant', 'import', 'fake', '--app', 'app', '--alias', 'f'], JSON.stringify(set));
  agent = new ProxyAgent({
    uri: proxyWith(grantd.proxyUrl, '_', key),
    requestTls: { ca: (await cli.run(['ca', 'export'])).stdout },
  });
});

afterAll(async () => {
  await agent?.close();
  await grantd?.stop();
  await fake?.close();
});

function reloaded(before: number) {
  return grantd.waitForLog(
    (l) =>
      (l.msg === 'config reloaded' ||
        l.msg === 'config reload refused; the running config stays') &&
      grantd.lines.length > before,
  );
}

async function call(path: string) {
  const res = await request(`https://${API_HOST}${path}`, {
    dispatcher: agent,
    headers: { 'grantd-grant': 'f' },
  });
  await res.body.dump();
  return { status: res.statusCode, code: res.headers['grantd-error'] };
}

describe('SIGHUP', () => {
  it('keeps the running config when the new one is broken, and traffic goes on', async () => {
    writeFileSync(grantd.configPath, 'listen: [not, a, host]\n');
    const mark = grantd.lines.length;
    const logged = reloaded(mark);
    grantd.child.kill('SIGHUP');
    const line = await logged;
    expect(line.msg).toBe('config reload refused; the running config stays');
    expect(JSON.stringify(line.issues)).toContain('listen');
    const ready = await request(`${grantd.adminUrl}/readyz`);
    expect(ready.statusCode).toBe(200);
    await ready.body.dump();
    writeFileSync(grantd.configPath, stringify(baseConfig));
  });

  it('re-reads a client secret file, and the next refresh uses the new secret', async () => {
    writeFileSync(secretFile, 'a-rotated-secret-the-fake-does-not-know\n');
    const mark = grantd.lines.length;
    const logged = reloaded(mark);
    grantd.child.kill('SIGHUP');
    expect((await logged).msg).toBe('config reloaded');

    const before = fake.tokenCalls.length;
    // The fake accepts only the original secret, so a refused refresh proves the new one was sent.
    expect(await call('/after-rotation')).toEqual({ status: 502, code: 'token_refresh_failed' });
    expect(fake.tokenCalls.length).toBe(before + 1);
    expect(grantd.child.exitCode).toBeNull();
  });
});
