import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CSV_COLUMNS } from '../../../src/portal/export.js';
import { ROOT, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor, proxyWith } from '../../helpers/grants.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  printLoginLink,
  skipBrowser,
  startPortalDaemon,
} from './support.js';

const STATIC_TOKEN = 'sk-portal-e2e-4f2a9c7d1b3e5f60a8c2';
const SHOTS = join(ROOT, 'test-artifacts', 'portal');
const DOC_IMAGES = join(ROOT, 'docs', 'images');

let upstream: TestUpstream;
let grantd: InProcessDaemon;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let origin: string;
let agent: ProxyAgent;
let key: string;
let keyId: string;
/** Every response body the browser got, except the one that mints the key. */
const bodies: { url: string; body: string }[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  if (skipBrowser) return;
  const pki = await createTestPki();
  upstream = await startUpstream(await pki.issue(['api.openai.com']));
  upstream.route('/v1/missing', (_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"no such thing"}');
  });
  grantd = await startPortalDaemon({
    resolve: { 'api.openai.com:443': `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath },
  });
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(DOC_IMAGES, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('dialog', (dialog) => void dialog.accept());
  context.on('response', async (res) => {
    const isMint = res.request().method() === 'POST' && /\/api\/apps\/[^/]+\/keys$/.test(res.url());
    if (isMint) return;
    try {
      bodies.push({ url: res.url(), body: await res.text() });
    } catch {
      // Redirects and downloads have no body to read here.
    }
  });
});

afterAll(async () => {
  await agent?.close();
  await browser?.close();
  await grantd?.close();
  await upstream?.close();
});

async function shoot(name: string): Promise<string> {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** One call through the proxy with the app's key, as an app would make it. */
async function call(path: string): Promise<number> {
  try {
    const res = await request(`https://api.openai.com${path}`, {
      dispatcher: agent,
      headers: { 'grantd-grant': 'ai' },
    });
    await res.body.text();
    return res.statusCode;
  } catch (error) {
    // A CONNECT refused with 407 surfaces as an error from undici's tunnel.
    const match = /\((\d{3})\)/.exec((error as Error).message);
    if (match) return Number(match[1]);
    throw error;
  }
}

/**
 * The README's screenshots: written when missing, or refreshed with
 * GRANTD_UPDATE_DOC_IMAGES=1, so an ordinary test run leaves the tree clean.
 */
function copyForDocs(shot: string, name: string): void {
  const target = join(DOC_IMAGES, name);
  if (existsSync(target) && process.env.GRANTD_UPDATE_DOC_IMAGES !== '1') return;
  copyFileSync(shot, target);
}

const rows = () => page.locator('#audit-table tbody tr');

describe.skipIf(skipBrowser)('the portal in Chromium', () => {
  it('signs in with the one-time link from grantd portal --no-browser, once', async () => {
    const link = await printLoginLink(grantd);
    origin = new URL(link).origin;
    await page.goto(link);
    expect(page.url()).toBe(`${origin}/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Overview');
    await expect
      .poll(() => page.locator('#ca-fingerprint').textContent())
      .toBe(grantd.daemon.authority.fingerprint256);

    const stranger = await browser.newPage();
    try {
      const res = await stranger.goto(link);
      expect(res?.status()).toBe(410);
      expect(await stranger.locator('h1').textContent()).toBe('This login link was already used');
    } finally {
      await stranger.close();
    }
  });

  it('creates an app from the keyboard and mints a key that is shown once', async () => {
    await page.click('nav >> text=Apps and keys');
    await page.focus('#app-name');
    await page.keyboard.type('billing');
    await page.keyboard.press('Enter');
    await page.locator('tr[data-app="billing"]').waitFor();

    await page.click('button[aria-label="Mint a key for billing"]');
    await page.locator('#minted').waitFor({ state: 'visible' });
    key = await page.inputValue('#minted-key');
    expect(key).toMatch(/^gk_[0-9A-Za-z]{40}$/);
    expect(await page.inputValue('#minted-proxy')).toBe(
      `HTTPS_PROXY=http://_:${key}@127.0.0.1:${grantd.daemon.proxyAddress.port}`,
    );
    keyId = (await page.locator('#keys-table tbody tr').first().getAttribute('data-key')) as string;
    expect(grantd.daemon.store.keys.verify(key)?.keyId).toBe(keyId);

    await page.click('#minted-done');
    expect(await page.locator('#minted').isHidden()).toBe(true);
    expect(await page.inputValue('#minted-key')).toBe('');
    await page.reload();
    await page.locator(`tr[data-key="${keyId}"]`).waitFor();
    expect(await page.content()).not.toContain(key);
    await shoot('apps');
  });

  it('adds a static grant whose token never comes back', async () => {
    await page.click('nav >> text=Grants');
    await page.locator('#add-provider option[value="openai"]').waitFor({ state: 'attached' });
    await page.selectOption('#add-app', 'billing');
    await page.selectOption('#add-provider', 'openai');
    await page.fill('#add-alias', 'ai');
    await page.fill('#add-token', STATIC_TOKEN);
    await page.click('button:text("Add grant")');
    const row = page.locator('#grants-table tbody tr[data-grant]');
    await row.waitFor();
    expect(await row.textContent()).toContain('active');
    expect(await page.inputValue('#add-token')).toBe('');
    expect(await page.content()).not.toContain(STATIC_TOKEN);

    await page.selectOption('#connect-provider', 'github');
    await page.fill('#connect-alias', 'work');
    expect(await page.inputValue('#connect-command')).toBe(
      'grantd connect github --app billing --alias work',
    );
    await shoot('grants');
  });

  it('shows requests through the proxy in the live tail, without reloading', async () => {
    await page.click('nav >> text=Audit log');
    await page.locator('#status').waitFor();
    // Page code runs in the browser; the test's tsconfig has no DOM types, hence strings.
    await page.evaluate('window.marker = "the same page"');
    expect(await rows().count()).toBe(0);

    agent = new ProxyAgent({
      uri: proxyWith(grantd.proxyUrl, '_', key),
      requestTls: { ca: [grantd.daemon.authority.certPem] },
    });
    expect(await call('/v1/models')).toBe(200);
    expect(upstream.seen.at(-1)?.headers.authorization).toBe(`Bearer ${STATIC_TOKEN}`);
    expect(await call('/v1/models?page=2')).toBe(200);
    expect(await call('/v1/missing')).toBe(404);

    await expect.poll(() => rows().count(), { timeout: 10_000 }).toBe(3);
    expect(await page.evaluate('window.marker')).toBe('the same page');
    const newest = rows().first();
    expect(await newest.getAttribute('data-status')).toBe('404');
    expect(await newest.textContent()).toContain('GET api.openai.com/v1/missing');

    await newest.locator('button').click();
    const dialog = page.locator('#detail');
    await dialog.waitFor({ state: 'visible' });
    expect(await dialog.textContent()).toContain('/v1/missing');
    expect(await dialog.textContent()).toContain(keyId);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await shoot('audit');
  });

  it('filters to 4xx and exports those rows as CSV and JSON lines', async () => {
    await page.selectOption('#f-status', '4xx');
    await page.click('button:text("Apply filters")');
    await expect.poll(() => rows().count()).toBe(1);
    expect(page.url()).toContain('status=4xx');

    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    expect(csv.suggestedFilename()).toMatch(/^grantd-audit-.*\.csv$/);
    const lines = readFileSync(await csv.path(), 'utf8')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(2);
    const cells = Object.fromEntries(
      (lines[1] as string).split(',').map((value, i) => [CSV_COLUMNS[i], value]),
    );
    const grant = grantd.daemon.store.grants.list()[0];
    expect(cells).toMatchObject({
      app: 'billing',
      key_id: keyId,
      grant_id: grant?.id,
      provider: 'openai',
      method: 'GET',
      host: 'api.openai.com',
      path: '/v1/missing',
      status: '404',
      outcome: 'ok',
    });

    const [jsonl] = await Promise.all([page.waitForEvent('download'), page.click('#export-jsonl')]);
    const exported = readFileSync(await jsonl.path(), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    // The same lines `grantd audit --json` prints for the same filter.
    const cli = cliFor(grantd.config.home, grantd.configPath);
    expect(exported).toEqual(await cli.auditJson(['--status', '4xx']));
  });

  it('revokes the key: the next request is refused with 407 and shows up in the tail', async () => {
    const apps = await context.newPage();
    apps.on('dialog', (dialog) => void dialog.accept());
    try {
      await apps.goto(`${origin}/apps`);
      await apps.click(`button[aria-label="Revoke key ${keyId}"]`);
      await apps.locator(`tr[data-key="${keyId}"] .badge.err`).waitFor();
      expect(await apps.locator(`tr[data-key="${keyId}"]`).textContent()).toContain('revoked');
    } finally {
      await apps.close();
    }
    expect(grantd.daemon.store.keys.verify(key)).toBeUndefined();

    expect(await call('/v1/models')).toBe(407);
    await expect.poll(() => rows().count(), { timeout: 10_000 }).toBe(2);
    const newest = rows().first();
    expect(await newest.getAttribute('data-status')).toBe('407');
    expect(await newest.textContent()).toContain('proxy_auth_required');
  });

  it('has a screenshot of every page, and fits a 360 px wide screen', async () => {
    await page.goto(`${origin}/providers`);
    await page.locator('#providers-table tbody tr[data-provider="openai"]').waitFor();
    await shoot('providers');
    await page.goto(`${origin}/`);
    await expect.poll(() => page.locator('#hour-requests').textContent()).toBe('4');
    await page.locator('#chart-hour svg rect').first().waitFor();
    copyForDocs(await shoot('overview'), 'portal-overview.png');
    await page.goto(`${origin}/audit`);
    await expect.poll(() => rows().count()).toBe(4);
    copyForDocs(await shoot('audit'), 'portal-audit.png');

    await page.setViewportSize({ width: 360, height: 780 });
    // The audit page last, for its narrow screenshot.
    for (const path of ['/', '/apps', '/grants', '/providers', '/audit']) {
      await page.goto(`${origin}${path}`);
      await page.waitForLoadState('load');
      const width = await page.evaluate<number>('document.documentElement.scrollWidth');
      expect(width, path).toBeLessThanOrEqual(360);
    }
    await shoot('audit-narrow');
  });

  it('never sent the key after its mint response, nor the static token, and ran without errors', () => {
    expect(bodies.length).toBeGreaterThan(20);
    for (const { url, body } of bodies) {
      expect(body, url).not.toContain(key);
      expect(body, url).not.toContain(STATIC_TOKEN);
    }
    expect(pageErrors).toEqual([]);
  });
});
