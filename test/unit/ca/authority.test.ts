import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { loadOrCreateAuthority } from '../../../src/ca/authority.js';
import { LeafCache } from '../../../src/ca/leaf-cache.js';
import { tempDir } from '../../helpers/daemon.js';
import { connectThrough } from '../../helpers/clients.js';
import { startInProcess } from '../../helpers/daemon.js';

describe('loadOrCreateAuthority', () => {
  it('creates a long-lived CA with an owner-only key, and keeps it across loads', async () => {
    const home = tempDir();
    const first = await loadOrCreateAuthority(home);
    expect(first.created).toBe(true);
    expect(statSync(first.paths.key).mode & 0o777).toBe(0o600);
    expect(statSync(first.paths.dir).mode & 0o777).toBe(0o700);

    const cert = new X509Certificate(readFileSync(first.paths.cert));
    expect(cert.ca).toBe(true);
    const years = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365 * 86_400_000);
    expect(years).toBeGreaterThan(9);
    expect(cert.fingerprint256).toBe(first.fingerprint256);

    const second = await loadOrCreateAuthority(home);
    expect(second.created).toBe(false);
    expect(second.fingerprint256).toBe(first.fingerprint256);
  });

  it('makes exactly one CA when several loaders race', async () => {
    const home = tempDir();
    const all = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateAuthority(home)));
    expect(new Set(all.map((a) => a.fingerprint256)).size).toBe(1);
    expect(all.filter((a) => a.created)).toHaveLength(1);
  });

  it('tightens a key file that others can read', async () => {
    const home = tempDir();
    const { paths } = await loadOrCreateAuthority(home);
    chmodSync(paths.key, 0o644);
    await loadOrCreateAuthority(home);
    expect(statSync(paths.key).mode & 0o777).toBe(0o600);
  });

  it('rewrites a ca.pem that no longer matches the key file', async () => {
    const home = tempDir();
    const { paths, certPem } = await loadOrCreateAuthority(home);
    writeFileSync(paths.cert, 'stale');
    await loadOrCreateAuthority(home);
    expect(readFileSync(paths.cert, 'utf8')).toBe(certPem);
  });
});

describe('LeafCache', () => {
  it('mints once per host, also for concurrent callers, and signs with the CA', async () => {
    const authority = await loadOrCreateAuthority(tempDir());
    const cache = new LeafCache(authority);
    const [a, b] = await Promise.all([cache.contextFor('x.test'), cache.contextFor('x.test')]);
    expect(a).toBe(b);
    expect(await cache.contextFor('x.test')).toBe(a);
    await cache.contextFor('y.test');
    expect(cache.stats()).toEqual({ minted: 2, cached: 2 });
  });

  it('drops the least recently used host past its capacity', async () => {
    const authority = await loadOrCreateAuthority(tempDir());
    const cache = new LeafCache(authority, { capacity: 2 });
    const a = await cache.contextFor('a.test');
    await cache.contextFor('b.test');
    await cache.contextFor('a.test');
    await cache.contextFor('c.test');
    expect(await cache.contextFor('a.test')).toBe(a);
    expect(cache.stats()).toEqual({ minted: 3, cached: 2 });
  });
});

describe('leaf certificates for IP addresses', () => {
  it('carry an IP subjectAltName that TLS clients accept', async () => {
    const grantd = await startInProcess({ intercept: ['127.0.0.2'], auth: { required: false } });
    try {
      // No upstream is needed: the handshake with grantd's leaf is the test.
      const socket = await connectThrough(grantd.proxyUrl, '127.0.0.2:443', {
        ca: [grantd.daemon.authority.certPem],
        servername: '',
        identity: '127.0.0.2',
      });
      expect(socket.getPeerCertificate().subjectaltname).toBe('IP Address:127.0.0.2');
      socket.destroy();
    } finally {
      await grantd.close();
    }
  });
});
