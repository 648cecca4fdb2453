import { createHash, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli, tempDir } from '../../helpers/daemon.js';
import {
  AUTH_HOST,
  startConnect,
  startFakeOAuth,
  writeFakeSetup,
  type FakeOAuth,
  type FakeSetup,
} from '../../helpers/fake-oauth.js';
import { createTestPki } from '../../helpers/pki.js';

const CHROMIUM = '/usr/bin/chromium';
// CI sets GRANTD_REQUIRE_BROWSER=1, so a missing browser fails there instead of skipping.
const skip = !existsSync(CHROMIUM) && process.env.GRANTD_REQUIRE_BROWSER !== '1';

let fake: FakeOAuth;
let setup: FakeSetup;
let browser: Browser;

beforeAll(async () => {
  if (skip) return;
  fake = await startFakeOAuth(await createTestPki());
  fake.expiresIn = 3600;
  setup = writeFakeSetup(fake, join(tempDir(), 'home'));
  const created = await runCli(['app', 'create', 'web'], { env: setup.env });
  expect(created.code, created.stderr).toBe(0);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // The fake provider's name leads to its port; the loopback redirect needs no mapping.
      `--host-resolver-rules=MAP ${AUTH_HOST} 127.0.0.1:${fake.port}`,
      // Chromium reads no NODE_EXTRA_CA_CERTS; trusting exactly the fake's key is the
      // narrowest exception it offers (every other certificate is still verified).
      `--ignore-certificate-errors-spki-list=${spkiHash(fake.certPem)}`,
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await fake?.close();
});

describe('grantd connect in a real browser', () => {
  it.skipIf(skip)('walks consent in headless Chromium and lands on the success page', async () => {
    const run = startConnect(
      ['fake', '--app', 'web', '--alias', 'browser', '--no-browser', '--timeout', '30'],
      setup.env,
    );
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(await run.url);
      expect(await page.title()).toBe('Fake OAuth consent');
      await Promise.all([
        page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback/),
        page.click('#approve'),
      ]);
      await expect.poll(() => page.locator('h1').textContent()).toBe('Fake OAuth is connected');
      expect(await page.content()).toContain('return to the terminal');
      expect(await page.content()).not.toContain(fake.issuedAccessTokens.at(-1) as string);
    } finally {
      await context.close();
    }
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^gr_[0-9A-Za-z]{16}\n$/);
  });
});

/** base64(SHA-256(SubjectPublicKeyInfo)), the form Chromium's SPKI allow-list takes. */
function spkiHash(certPem: string): string {
  const spki = createPublicKey(certPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}
