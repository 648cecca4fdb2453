import { createHash, X509Certificate } from 'node:crypto';

import { beforeAll, describe, expect, it } from 'vitest';

import { readChildren, readOnly } from '../../../src/ca/der.js';
import {
  createCaCertificate,
  createLeafCertificate,
  generateKeyPair,
  issuerFrom,
  type Certificate,
  type Issuer,
  type KeyPair,
} from '../../../src/ca/x509.js';
import { tempDir } from '../../helpers/daemon.js';
import { hasOpenssl, opensslText, opensslVerify } from './openssl.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** The TBSCertificate's fields, from the leaf's DER. */
function tbsFields(der: Buffer) {
  const [tbs] = readChildren(readOnly(der, 0x30));
  return readChildren(tbs!);
}

/** A certificate's extension values by OID text, as read back from the DER. */
function extensionsOf(der: Buffer): Map<string, { critical: boolean; value: Buffer }> {
  const wrapped = tbsFields(der).find((field) => field.tag === 0xa3)!;
  const map = new Map<string, { critical: boolean; value: Buffer }>();
  for (const ext of readChildren(readChildren(wrapped)[0]!)) {
    const [id, second, third] = readChildren(ext);
    const critical = second!.tag === 0x01;
    map.set(id!.raw.toString('hex'), { critical, value: (critical ? third : second)!.content });
  }
  return map;
}

const SKI = '0603551d0e';
const AKI = '0603551d23';

function expectNear(actual: string, expected: number) {
  // Certificates hold whole seconds; allow for the time the test takes.
  expect(Math.abs(Date.parse(actual) - expected)).toBeLessThan(5_000);
}

describe('createCaCertificate', () => {
  let keys: KeyPair;
  let ca: Certificate;
  let cert: X509Certificate;
  const started = Date.now();

  beforeAll(async () => {
    keys = await generateKeyPair();
    ca = await createCaCertificate(keys, { commonName: 'grantd test CA (box)', validDays: 10 });
    cert = new X509Certificate(ca.der);
  });

  it('is a self-signed CA named CN=<name>, O=grantd', () => {
    expect(ca.pem).toBe(cert.toString());
    expect(cert.subject).toBe('CN=grantd test CA (box)\nO=grantd');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.ca).toBe(true);
    expect(cert.verify(keys.publicKey)).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.publicKey.equals(keys.publicKey)).toBe(true);
  });

  it('is valid from an hour ago for validDays', () => {
    expectNear(cert.validFrom, started - HOUR);
    expectNear(cert.validTo, started + 10 * DAY);
  });

  it('has a positive serial of at most 128 bits', () => {
    const field = tbsFields(ca.der)[1]!;
    expect(field.tag).toBe(0x02);
    expect(field.content.length).toBeLessThanOrEqual(16);
    expect((field.content[0] as number) & 0x80).toBe(0);
    expect(BigInt(`0x${cert.serialNumber}`)).toBe(BigInt(`0x${field.content.toString('hex')}`));
  });

  it('uses the SHA-1 of its key bits as subjectKeyIdentifier', () => {
    const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
    // An uncompressed P-256 point is the last 65 bytes of the SubjectPublicKeyInfo.
    const expected = createHash('sha1').update(spki.subarray(-65)).digest();
    const ski = extensionsOf(ca.der).get(SKI)!;
    expect(ski.critical).toBe(false);
    expect(readOnly(ski.value, 0x04).content).toEqual(expected);
  });

  it.skipIf(!hasOpenssl)(
    'reads in openssl with critical CA:TRUE pathlen 0 and cert signing',
    () => {
      const text = opensslText(tempDir(), ca.pem);
      expect(text).toContain('Version: 3 (0x2)');
      expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
      expect(text).toContain('Issuer: CN = grantd test CA (box), O = grantd');
      expect(text).toContain('ASN1 OID: prime256v1');
      expect(text).toContain('X509v3 Basic Constraints: critical CA:TRUE, pathlen:0');
      expect(text).toContain('X509v3 Key Usage: critical Certificate Sign, CRL Sign');
      expect(text).toMatch(/X509v3 Subject Key Identifier: ([0-9A-F]{2}:){19}[0-9A-F]{2} /);
      expect(text).not.toContain('Authority Key Identifier');
    },
  );

  it.skipIf(!hasOpenssl)('verifies as its own trust anchor in openssl', () => {
    const dir = tempDir();
    const { code, out } = opensslVerify(dir, ca.pem, ca.pem, { purpose: 'any' });
    expect(out).toContain(': OK');
    expect(code).toBe(0);
  });

  it('writes GeneralizedTime past 2049, which Node and openssl read back', async () => {
    const long = await createCaCertificate(keys, { commonName: 'long', validDays: 365 * 40 });
    const parsed = new X509Certificate(long.der);
    expect(new Date(parsed.validTo).getUTCFullYear()).toBeGreaterThanOrEqual(2050);
    expectNear(parsed.validTo, Date.now() + 365 * 40 * DAY);
    const validity = tbsFields(long.der)[4]!;
    expect(readChildren(validity).map((t) => t.tag)).toEqual([0x17, 0x18]);
    if (hasOpenssl)
      expect(opensslVerify(tempDir(), long.pem, long.pem, { purpose: 'any' }).code).toBe(0);
  });
});

describe('createLeafCertificate', () => {
  let caKeys: KeyPair;
  let ca: X509Certificate;
  let caPem: string;
  let issuer: Issuer;
  let leafKeys: KeyPair;

  beforeAll(async () => {
    caKeys = await generateKeyPair();
    const made = await createCaCertificate(caKeys, { commonName: 'grantd leaf CA', validDays: 1 });
    caPem = made.pem;
    ca = new X509Certificate(made.der);
    issuer = issuerFrom(ca, caKeys.privateKey);
    leafKeys = await generateKeyPair();
  });

  const leafFor = (host: string) =>
    createLeafCertificate({ host, issuer, publicKey: leafKeys.publicKey, validMs: 7 * DAY });

  it('names one DNS host, is signed by the CA and valid for validMs', async () => {
    const started = Date.now();
    const made = await leafFor('api.example.test');
    const leaf = new X509Certificate(made.pem);
    expect(leaf.subject).toBe('CN=api.example.test');
    expect(leaf.issuer).toBe(ca.subject);
    expect(leaf.subjectAltName).toBe('DNS:api.example.test');
    expect(leaf.ca).toBe(false);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(leaf.checkHost('api.example.test')).toBe('api.example.test');
    expect(leaf.checkHost('other.example.test')).toBeUndefined();
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.verify(leafKeys.publicKey)).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.publicKey.equals(leafKeys.publicKey)).toBe(true);
    expectNear(leaf.validFrom, started - HOUR);
    expectNear(leaf.validTo, started + 7 * DAY);
  });

  it("copies the CA's subject bytes as issuer and its key identifier as authorityKeyIdentifier", async () => {
    const made = await leafFor('api.example.test');
    const caSubject = tbsFields(ca.raw)[5]!.raw;
    expect(tbsFields(made.der)[3]!.raw).toEqual(caSubject);
    const caSki = readOnly(extensionsOf(ca.raw).get(SKI)!.value, 0x04).content;
    const aki = extensionsOf(made.der).get(AKI)!;
    expect(aki.critical).toBe(false);
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }
    const [keyId, ...rest] = readChildren(readOnly(aki.value, 0x30));
    expect(rest).toEqual([]);
    expect(keyId!.tag).toBe(0x80);
    expect(keyId!.content).toEqual(caSki);
  });

  it.skipIf(!hasOpenssl)(
    'reads in openssl with the extensions a TLS server leaf needs',
    async () => {
      const text = opensslText(tempDir(), (await leafFor('api.example.test')).pem);
      expect(text).toContain('Subject: CN = api.example.test ');
      expect(text).toContain('Issuer: CN = grantd leaf CA, O = grantd');
      expect(text).toContain('X509v3 Basic Constraints: critical CA:FALSE');
      expect(text).toContain('X509v3 Key Usage: critical Digital Signature ');
      expect(text).toContain('X509v3 Extended Key Usage: TLS Web Server Authentication');
      expect(text).toContain('X509v3 Subject Alternative Name: DNS:api.example.test');
      expect(text).toMatch(/X509v3 Authority Key Identifier: ([0-9A-F]{2}:){19}[0-9A-F]{2} /);
      expect(text).not.toContain('Subject Key Identifier');
    },
  );

  it.skipIf(!hasOpenssl)('verifies in openssl for the TLS server purpose', async () => {
    const { code, out } = opensslVerify(tempDir(), caPem, (await leafFor('api.example.test')).pem, {
      hostname: 'api.example.test',
    });
    expect(out).toContain(': OK');
    expect(code).toBe(0);
    // And the check is not vacuous: another name, or another CA, fails.
    const wrongName = opensslVerify(tempDir(), caPem, (await leafFor('api.example.test')).pem, {
      hostname: 'other.example.test',
    });
    expect(wrongName.code).not.toBe(0);
    const other = await createCaCertificate(await generateKeyPair(), {
      commonName: 'grantd leaf CA',
      validDays: 1,
    });
    expect(opensslVerify(tempDir(), other.pem, (await leafFor('a.test')).pem).code).not.toBe(0);
  });

  it('carries an iPAddress of 4 bytes for IPv4', async () => {
    const made = await leafFor('127.0.0.2');
    const leaf = new X509Certificate(made.der);
    expect(leaf.subjectAltName).toBe('IP Address:127.0.0.2');
    expect(leaf.checkIP('127.0.0.2')).toBe('127.0.0.2');
    expect(leaf.checkIP('127.0.0.3')).toBeUndefined();
    if (hasOpenssl) {
      const { code, out } = opensslVerify(tempDir(), caPem, made.pem, { ip: '127.0.0.2' });
      expect(out).toContain(': OK');
      expect(code).toBe(0);
    }
  });

  it('carries an iPAddress of 16 bytes for IPv6', async () => {
    const made = await leafFor('2001:db8::1');
    const leaf = new X509Certificate(made.der);
    expect(leaf.subject).toBe('CN=2001:db8::1');
    expect(leaf.subjectAltName).toBe('IP Address:2001:DB8:0:0:0:0:0:1');
    expect(leaf.checkIP('2001:db8::1')).toBe('2001:db8::1');
    expect(leaf.checkIP('2001:db8:0:0:0:0:0:1')).toBe('2001:db8:0:0:0:0:0:1');
    expect(leaf.checkIP('2001:db8::2')).toBeUndefined();
    expect(leaf.verify(ca.publicKey)).toBe(true);
    if (hasOpenssl) {
      const { code, out } = opensslVerify(tempDir(), caPem, made.pem, { ip: '2001:db8::1' });
      expect(out).toContain(': OK');
      expect(code).toBe(0);
    }
    const mapped = new X509Certificate((await leafFor('::ffff:192.0.2.1')).der);
    expect(mapped.subjectAltName).toBe('IP Address:0:0:0:0:0:FFFF:C000:201');
  });

  it('caps the subject CN at 64 characters and keeps the whole name in the SAN', async () => {
    const host = `${'a'.repeat(60)}.${'b'.repeat(60)}.example.test`;
    const made = await leafFor(host);
    const leaf = new X509Certificate(made.der);
    expect(leaf.subject).toBe(`CN=${host.slice(0, 64)}`);
    expect(leaf.subjectAltName).toBe(`DNS:${host}`);
    expect(leaf.checkHost(host)).toBe(host);
    if (hasOpenssl) {
      const { code, out } = opensslVerify(tempDir(), caPem, made.pem, { hostname: host });
      expect(out).toContain(': OK');
      expect(code).toBe(0);
    }
  });

  it('writes a CN that is not a PrintableString as UTF8String', async () => {
    const made = await leafFor('under_score.example.test');
    const [rdn] = readChildren(tbsFields(made.der)[5]!);
    const [, value] = readChildren(readChildren(rdn!)[0]!);
    expect(value!.tag).toBe(0x0c);
    expect(new X509Certificate(made.der).subject).toBe('CN=under_score.example.test');
  });

  it('gives every leaf its own serial', async () => {
    const serials = await Promise.all(
      Array.from({ length: 20 }, async () => new X509Certificate((await leafFor('a.test')).der)),
    );
    expect(new Set(serials.map((leaf) => leaf.serialNumber)).size).toBe(20);
  });
});
