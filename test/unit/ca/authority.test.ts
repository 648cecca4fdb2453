import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, isIP, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  checkServerIdentity,
  connect,
  TLSSocket,
  type PeerCertificate,
  type SecureContext,
} from 'node:tls';

import { describe, expect, it } from 'vitest';

import { loadOrCreateAuthority } from '../../../src/ca/authority.js';
import { LeafCache } from '../../../src/ca/leaf-cache.js';
import { createLeafCertificate, generateKeyPair } from '../../../src/ca/x509.js';
import { tempDir } from '../../helpers/daemon.js';
import { connectThrough } from '../../helpers/clients.js';
import { startInProcess } from '../../helpers/daemon.js';
import { hasOpenssl, opensslCa, opensslVerify } from './openssl.js';

/**
 * A TLS handshake between Node's client (OpenSSL's chain building, Node's
 * name check for `host`) trusting only `caPem`, and a server presenting
 * `context`. Resolves with the server's certificate.
 */
async function handshake(
  host: string,
  context: SecureContext,
  caPem: string,
): Promise<PeerCertificate> {
  // As grantd's proxy does: a server-side TLSSocket over a plain socket, so
  // that the context applies with or without SNI.
  const server = createServer((raw) => {
    const socket = new TLSSocket(raw, { isServer: true, secureContext: context });
    socket.on('error', () => socket.destroy());
    socket.on('secure', () => socket.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      ca: [caPem],
      // No SNI for IP addresses, as real clients do.
      ...(isIP(host) ? {} : { servername: host }),
      checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert),
    });
    const [error] = await Promise.race([
      once(socket, 'secureConnect').then(() => [undefined]),
      once(socket, 'error'),
    ]);
    if (error) throw error as Error;
    const peer = socket.getPeerCertificate();
    socket.destroy();
    return peer;
  } finally {
    server.close();
  }
}

/** A data folder whose `ca/ca-key.pem` holds `keyPem` followed by `certPem`, as grantd writes it. */
function dataFolderWith(keyPem: string, certPem: string): string {
  const home = tempDir();
  mkdirSync(join(home, 'ca'), { mode: 0o700 });
  writeFileSync(join(home, 'ca', 'ca-key.pem'), keyPem + certPem, { mode: 0o600 });
  return home;
}

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

describe('loadOrCreateAuthority on a CA it did not make', () => {
  it.skipIf(!hasOpenssl)(
    'loads an openssl-made CA unchanged and mints leaves that chain to it',
    async () => {
      const made = opensslCa(tempDir());
      const home = dataFolderWith(made.keyPem, made.certPem);
      const keyFile = readFileSync(join(home, 'ca', 'ca-key.pem'), 'utf8');

      const authority = await loadOrCreateAuthority(home);
      expect(authority.created).toBe(false);
      expect(authority.certPem).toBe(made.certPem);
      expect(authority.fingerprint256).toBe(new X509Certificate(made.certPem).fingerprint256);
      expect(readFileSync(authority.paths.key, 'utf8')).toBe(keyFile);
      expect(readFileSync(authority.paths.cert, 'utf8')).toBe(made.certPem);

      // openssl wrote its Name as UTF8String; grantd would have written
      // PrintableString, so only a byte-for-byte copy makes the issuer match.
      const leafKeys = await generateKeyPair();
      const leaf = await createLeafCertificate({
        host: 'api.example.test',
        issuer: authority.issuer,
        publicKey: leafKeys.publicKey,
        validMs: 86_400_000,
      });
      expect(authority.certificate.raw.includes(authority.issuer.name)).toBe(true);
      expect(leaf.der.includes(authority.issuer.name)).toBe(true);
      const parsed = new X509Certificate(leaf.der);
      expect(parsed.checkIssued(authority.certificate)).toBe(true);
      expect(parsed.verify(authority.certificate.publicKey)).toBe(true);
      const verified = opensslVerify(tempDir(), made.certPem, leaf.pem, {
        hostname: 'api.example.test',
      });
      expect(verified.out).toContain(': OK');
      expect(verified.code).toBe(0);

      const cache = new LeafCache(authority);
      const peer = await handshake(
        'api.example.test',
        await cache.contextFor('api.example.test'),
        made.certPem,
      );
      expect(peer.subject.CN).toBe('api.example.test');
    },
  );

  it.skipIf(!hasOpenssl)(
    'computes the authorityKeyIdentifier from the key of a CA without subjectKeyIdentifier',
    async () => {
      const made = opensslCa(tempDir(), { subjectKeyIdentifier: false });
      const authority = await loadOrCreateAuthority(dataFolderWith(made.keyPem, made.certPem));
      const spki = authority.keys.publicKey.export({ type: 'spki', format: 'der' });
      expect(authority.issuer.keyIdentifier).toEqual(
        createHash('sha1').update(spki.subarray(-65)).digest(),
      );
      const leafKeys = await generateKeyPair();
      const leaf = await createLeafCertificate({
        host: '::1',
        issuer: authority.issuer,
        publicKey: leafKeys.publicKey,
        validMs: 86_400_000,
      });
      // -x509_strict would refuse the CA itself for lacking subjectKeyIdentifier.
      const verified = opensslVerify(tempDir(), made.certPem, leaf.pem, {
        ip: '::1',
        strict: false,
      });
      expect(verified.out).toContain(': OK');
      expect(verified.code).toBe(0);
    },
  );

  it('refuses a key that does not match the certificate, naming the file', async () => {
    const first = await loadOrCreateAuthority(tempDir());
    const second = await loadOrCreateAuthority(tempDir());
    const otherKey = readFileSync(second.paths.key, 'utf8').replace(/-----BEGIN CERT[^]*$/, '');
    const home = dataFolderWith(otherKey, first.certPem);
    await expect(loadOrCreateAuthority(home)).rejects.toThrow(
      /ca-key\.pem: the CA private key does not match its certificate/,
    );
  });

  it('refuses a CA key that is not EC P-256', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const { certPem } = await loadOrCreateAuthority(tempDir());
    await expect(loadOrCreateAuthority(dataFolderWith(keyPem, certPem))).rejects.toThrow(/P-256/);
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

  it('hands out contexts that Node TLS clients trusting only the CA accept', async () => {
    const authority = await loadOrCreateAuthority(tempDir());
    const cache = new LeafCache(authority);
    const long = `${'x'.repeat(63)}.${'y'.repeat(63)}.test`;
    for (const host of [
      'api.example.test',
      '127.0.0.2',
      '::1',
      '2001:db8::8:800:200c:417a',
      long,
    ]) {
      const peer = await handshake(host, await cache.contextFor(host), authority.certPem);
      expect(peer.subject.CN).toBe(host.slice(0, 64));
    }
    // A client that expects another name refuses the leaf.
    await expect(
      handshake(
        'other.example.test',
        await cache.contextFor('api.example.test'),
        authority.certPem,
      ),
    ).rejects.toThrow(/altnames/);
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
