import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';

import { stringify } from 'yaml';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { API_ROUTES } from '../../../src/portal/api/routes.js';
import { LoginTokens } from '../../../src/portal/login-tokens.js';
import { csvField } from '../../../src/portal/export.js';
import { ASSETS } from '../../../src/portal/assets/index.js';
import { SessionStore } from '../../../src/portal/sessions.js';
import { freePort, tempDir, type InProcessDaemon } from '../../helpers/daemon.js';
import { cliFor } from '../../helpers/grants.js';
import { printLoginLink, signIn, startPortalDaemon, type PortalClient } from './support.js';

const STATIC_TOKEN = 'sk-portal-static-7d1e4b9a2c6f8e0d3b5a';
const PAGES = ['/', '/apps', '/grants', '/audit', '/providers'];
const HOUR = 3_600_000;

let grantd: InProcessDaemon;
let portal: PortalClient;
let mintedKey: string;
/** Every body the portal sent after the key's mint response, for the leak check. */
const captured: { what: string; body: string }[] = [];

beforeAll(async () => {
  grantd = await startPortalDaemon();
  portal = await signIn(await printLoginLink(grantd));
});

afterAll(async () => {
  await grantd?.close();
});

/** Fills a route's `:name` parts with something plausible. */
function concrete(path: string): string {
  return path.replace(/:[a-z]+/g, 'nothing-here');
}

describe('without a session', () => {
  it('answers 401 on every API route, even with a good Origin and a CSRF header', async () => {
    expect(API_ROUTES.length).toBeGreaterThan(10);
    for (const route of API_ROUTES) {
      const path = concrete(route.path);
      const res = await fetch(`${portal.origin}${path}`, {
        method: route.method,
        headers: {
          origin: portal.origin,
          'x-grantd-csrf': portal.csrf,
          'content-type': 'application/json',
        },
        body: route.method === 'GET' ? undefined : '{}',
      });
      expect(res.status, `${route.method} ${path}`).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    }
  });

  it('answers 401 on API paths no route has, and asks to sign in on pages', async () => {
    expect((await fetch(`${portal.origin}/api/no-such-route`)).status).toBe(401);
    for (const page of PAGES) {
      const res = await fetch(`${portal.origin}${page}`);
      expect(res.status, page).toBe(401);
      const html = await res.text();
      expect(html).toContain('grantd portal');
      expect(html).not.toContain('grantd-csrf');
    }
  });

  it('refuses a forged or stale session cookie', async () => {
    const name = portal.cookie.split('=')[0] as string;
    const res = await fetch(`${portal.origin}/api/apps`, {
      headers: { cookie: `${name}=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` },
    });
    expect(res.status).toBe(401);
  });
});

describe('state changes with a session', () => {
  it('work from the portal itself (the control case)', async () => {
    const res = await portal.send('POST', '/api/apps', { name: 'control' });
    expect(res.status).toBe(201);
    expect(grantd.daemon.store.apps.byName('control')).toBeDefined();
  });

  it('are refused cross-origin (Origin: http://evil.test) with a valid cookie and CSRF token', async () => {
    const res = await portal.send(
      'POST',
      '/api/apps',
      { name: 'evil' },
      {
        cookie: portal.cookie,
        origin: 'http://evil.test',
        'x-grantd-csrf': portal.csrf,
        'content-type': 'application/json',
      },
    );
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'origin_refused' } });
    expect(grantd.daemon.store.apps.byName('evil')).toBeUndefined();
  });

  it('are refused from another port of this machine, the same site as the portal', async () => {
    const port = Number(new URL(portal.origin).port) + 1;
    const res = await portal.send(
      'POST',
      '/api/apps',
      { name: 'neighbour' },
      {
        cookie: portal.cookie,
        origin: `http://127.0.0.1:${port}`,
        'x-grantd-csrf': portal.csrf,
        'content-type': 'application/json',
      },
    );
    expect(res.status).toBe(403);
    expect(grantd.daemon.store.apps.byName('neighbour')).toBeUndefined();
  });

  it('are refused without an Origin header', async () => {
    const res = await portal.send(
      'POST',
      '/api/apps',
      { name: 'no-origin' },
      { cookie: portal.cookie, 'x-grantd-csrf': portal.csrf, 'content-type': 'application/json' },
    );
    expect(res.status).toBe(403);
    expect(grantd.daemon.store.apps.byName('no-origin')).toBeUndefined();
  });

  it('are refused without the CSRF token, or with a wrong one', async () => {
    const base = {
      cookie: portal.cookie,
      origin: portal.origin,
      'content-type': 'application/json',
    };
    const missing = await portal.send('POST', '/api/apps', { name: 'no-csrf' }, base);
    expect(missing.status).toBe(403);
    expect(await missing.json()).toMatchObject({ error: { code: 'csrf_refused' } });
    const wrong = await portal.send(
      'POST',
      '/api/apps',
      { name: 'no-csrf' },
      { ...base, 'x-grantd-csrf': `${portal.csrf.slice(0, -2)}xx` },
    );
    expect(wrong.status).toBe(403);
    const revoke = await portal.send('DELETE', '/api/apps/control', undefined, {
      cookie: portal.cookie,
      origin: portal.origin,
    });
    expect(revoke.status).toBe(403);
    expect(grantd.daemon.store.apps.byName('no-csrf')).toBeUndefined();
    expect(grantd.daemon.store.apps.byName('control')).toBeDefined();
  });

  it('refuse a form post (not JSON), which a foreign page could send without CORS', async () => {
    const res = await portal.send('POST', '/api/apps', undefined, {
      cookie: portal.cookie,
      origin: portal.origin,
      'x-grantd-csrf': portal.csrf,
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(415);
  });
});

describe('login links', () => {
  it('work once: a reused link is refused with a page that says so', async () => {
    const link = await printLoginLink(grantd);
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(303);
    const again = await fetch(link, { redirect: 'manual' });
    expect(again.status).toBe(410);
    expect(again.headers.get('set-cookie')).toBeNull();
    const html = await again.text();
    expect(html).toContain('already used');
    expect(html).toContain('grantd portal');
  });

  it('expire: an old link is refused, and an unknown one too', async () => {
    const logins = new LoginTokens(grantd.daemon.store.db);
    const { token } = logins.mint(Date.now() - 10 * 60_000);
    const expired = await fetch(`${portal.origin}/login?token=${token}`, { redirect: 'manual' });
    expect(expired.status).toBe(410);
    expect(await expired.text()).toContain('expired');
    const unknown = await fetch(`${portal.origin}/login?token=gpl_${'x'.repeat(43)}`, {
      redirect: 'manual',
    });
    expect(unknown.status).toBe(401);
    expect((await fetch(`${portal.origin}/login`, { redirect: 'manual' })).status).toBe(400);
  });

  it('are stored only as hashes', () => {
    const { token } = new LoginTokens(grantd.daemon.store.db).mint();
    const rows = grantd.daemon.store.db.prepare('SELECT * FROM portal_logins').all();
    expect(JSON.stringify(rows)).not.toContain(token.slice(4));
  });

  it('set an HttpOnly, SameSite=Strict session cookie for the whole portal', async () => {
    const res = await fetch(await printLoginLink(grantd), { redirect: 'manual' });
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^grantd_portal_\d+=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
  });
});

describe('every response', () => {
  it('carries no-store, a strict CSP, X-Frame-Options, Referrer-Policy', async () => {
    const responses = [
      ...(await Promise.all(PAGES.map((page) => portal.get(page)))),
      ...(await Promise.all([...ASSETS.keys()].map((path) => portal.get(path)))),
      await portal.get('/api/overview'),
      await fetch(`${portal.origin}/api/apps`),
      await fetch(`${portal.origin}/login?token=nope`),
      await fetch(`${portal.origin}/no-such-page`),
    ];
    for (const res of responses) {
      const where = res.url;
      expect(res.headers.get('cache-control'), where).toBe('no-store');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, where).toContain("default-src 'none'");
      expect(csp, where).toContain("script-src 'self'");
      expect(csp, where).toContain("frame-ancestors 'none'");
      expect(csp, where).not.toContain('unsafe-inline');
      expect(csp, where).not.toContain('unsafe-eval');
      expect(res.headers.get('x-frame-options'), where).toBe('DENY');
      expect(res.headers.get('referrer-policy'), where).toBe('no-referrer');
      expect(res.headers.get('x-content-type-options'), where).toBe('nosniff');
    }
  });

  it('pages hold no inline script or style, and load their code from files', async () => {
    for (const page of PAGES) {
      const html = await (await portal.get(page)).text();
      expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(html).not.toMatch(/\sstyle=/);
      expect(html).not.toMatch(/\son[a-z]+=/);
      expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[^"' ]*\.(js|css)/);
    }
  });

  it('is refused for another host name (DNS rebinding)', async () => {
    const { port } = new URL(portal.origin);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/login?token=x', headers: { host: `evil.test:${port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(421);
  });
});

describe('secrets', () => {
  it('never appear after the mint response: not the key, not a static token', async () => {
    const minted = await portal.send('POST', '/api/apps/control/keys');
    expect(minted.status).toBe(201);
    const mint = (await minted.json()) as { id: string; key: string; proxy_url: string };
    mintedKey = mint.key;
    expect(mintedKey).toMatch(/^gk_[0-9A-Za-z]{40}$/);
    expect(mint.proxy_url).toBe(`http://_:${mintedKey}@${grantd.proxyUrl.slice('http://'.length)}`);
    expect(grantd.daemon.store.keys.verify(mintedKey)?.keyId).toBe(mint.id);

    const added = await portal.send('POST', '/api/grants', {
      app: 'control',
      provider: 'openai',
      alias: 'ai',
      token: STATIC_TOKEN,
    });
    expect(added.status).toBe(201);
    captured.push({ what: 'grant add response', body: await added.text() });
    const grant = grantd.daemon.store.grants.find(
      grantd.daemon.store.apps.byName('control')!.id,
      'ai',
    );
    expect(await grantd.daemon.vault.get(grant!.id, grant!.secretVersion)).toEqual({
      kind: 'static',
      token: STATIC_TOKEN,
    });

    for (const page of PAGES)
      captured.push({ what: page, body: await (await portal.get(page)).text() });
    for (const path of [...ASSETS.keys()]) {
      captured.push({ what: path, body: await (await portal.get(path)).text() });
    }
    for (const route of API_ROUTES.filter((r) => r.method === 'GET')) {
      const path = concrete(route.path);
      captured.push({ what: path, body: await (await portal.get(path)).text() });
    }
    expect(captured.length).toBeGreaterThan(15);
    for (const { what, body } of captured) {
      expect(body, what).not.toContain(mintedKey);
      expect(body, what).not.toContain(mintedKey.slice(3));
      expect(body, what).not.toContain(STATIC_TOKEN);
    }
    for (const line of grantd.rawLogs) {
      expect(line).not.toContain(mintedKey);
      expect(line).not.toContain(STATIC_TOKEN);
    }
  });

  it('are not echoed when a grant is refused', async () => {
    const res = await portal.send('POST', '/api/grants', {
      app: 'control',
      provider: 'openai',
      alias: 'ai',
      token: STATIC_TOKEN,
    });
    expect(res.status).toBe(409);
    expect(await res.text()).not.toContain(STATIC_TOKEN);
  });
});

describe('sign-out', () => {
  it('ends the session at once', async () => {
    const other = await signIn(await printLoginLink(grantd));
    expect((await other.get('/api/apps')).status).toBe(200);
    const out = await other.send('POST', '/api/logout');
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await other.get('/api/apps')).status).toBe(401);
    expect((await portal.get('/api/apps')).status).toBe(200);
  });
});

describe('exports', () => {
  it('defuse spreadsheet formulas and quote what CSV needs quoted', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvField('/v1/a,b')).toBe('"/v1/a,b"');
    expect(csvField(404)).toBe('404');
    expect(csvField(null)).toBe('');
  });
});

describe('speed', () => {
  it('serves pages and API answers well under 100 ms', async () => {
    const timings: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (const path of [...PAGES, '/api/overview', '/api/audit', '/api/providers']) {
        const started = performance.now();
        const res = await portal.get(path);
        await res.arrayBuffer();
        timings.push(performance.now() - started);
      }
    }
    timings.sort((a, b) => a - b);
    const median = timings[Math.floor(timings.length / 2)] as number;
    expect(median).toBeLessThan(100);
  });
});

describe('sessions', () => {
  it('end after 12 hours idle, and after 7 days whatever the use', () => {
    const sessions = new SessionStore();
    const start = Date.UTC(2026, 0, 1);
    const { id } = sessions.create(start);
    expect(sessions.get(id, start + 11 * HOUR)).toBeDefined();
    expect(sessions.get(id, start + 22 * HOUR)).toBeDefined();
    expect(sessions.get(id, start + 34 * HOUR + 1)).toBeUndefined();

    const busy = sessions.create(start).id;
    for (let hour = 10; hour < 7 * 24; hour += 10) {
      expect(sessions.get(busy, start + hour * HOUR)).toBeDefined();
    }
    expect(sessions.get(busy, start + 7 * 24 * HOUR + 1)).toBeUndefined();
  });
});

describe('grantd portal', () => {
  it('refuses an admin address with port 0, which no link can name', async () => {
    const home = join(tempDir(), 'home');
    const config = join(tempDir(), 'grantd.yaml');
    writeFileSync(config, stringify({ home, admin: '127.0.0.1:0' }));
    const result = await cliFor(home, config).try(['portal', '--no-browser']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('admin: 127.0.0.1:0');
  });

  it('says to start grantd when no daemon answers, and mints nothing', async () => {
    const home = join(tempDir(), 'home');
    const config = join(tempDir(), 'grantd.yaml');
    writeFileSync(config, stringify({ home, admin: `127.0.0.1:${await freePort()}` }));
    const result = await cliFor(home, config).try(['portal', '--no-browser']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('grantd start');
  });
});
