import 'reflect-metadata';

import { randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

import * as x509 from '@peculiar/x509';

type ProviderCrypto = Parameters<typeof x509.cryptoProvider.set>[0];
type CryptoKey = webcrypto.CryptoKey;

// Node's WebCrypto signs off the event loop, in libuv's thread pool.
x509.cryptoProvider.set(webcrypto as unknown as ProviderCrypto);

/** ECDSA P-256 with SHA-256: small keys, fast handshakes, accepted by every TLS stack. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export type KeyPair = webcrypto.CryptoKeyPair;

export function generateKeyPair(): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return toPem(der, 'PRIVATE KEY');
}

/** Imports an EC private key and derives its public half from the certificate. */
export async function importKeyPair(keyPem: string, certPem: string): Promise<KeyPair> {
  const der = fromPem(keyPem, 'PRIVATE KEY');
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, EC_P256, true, ['sign']);
  const cert = new x509.X509Certificate(certPem);
  // The library types keys with the DOM's CryptoKey, which is Node's at run time.
  const publicKey = (await cert.publicKey.export(
    EC_P256,
    ['verify'],
    webcrypto as unknown as ProviderCrypto,
  )) as unknown as CryptoKey;
  return { privateKey, publicKey };
}

/** A positive 128-bit serial number, as RFC 5280 section 4.1.2.2 asks. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes.toString('hex');
}

export function toPem(der: Buffer, label: string): string {
  const body = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${body}${body.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

export function fromPem(pem: string, label: string): Buffer {
  const match = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`).exec(pem);
  if (!match?.[1]) throw new Error(`no ${label} block found`);
  return Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
}

export interface CreateCaOptions {
  commonName: string;
  validDays: number;
}

export async function createCaCertificate(keys: KeyPair, options: CreateCaOptions) {
  const now = Date.now();
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [options.commonName] }, { O: ['grantd'] }],
    // An hour of slack for clocks that run behind the one that made the CA.
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + options.validDays * 86_400_000),
    keys,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

export interface LeafOptions {
  host: string;
  issuer: x509.X509Certificate;
  issuerKey: CryptoKey;
  publicKey: CryptoKey;
  validMs: number;
}

/** A server certificate for one host name or IP address, signed by the CA. */
export async function createLeafCertificate(options: LeafOptions) {
  const now = Date.now();
  const san = isIP(options.host)
    ? { type: 'ip' as const, value: options.host }
    : { type: 'dns' as const, value: options.host };
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    // Subject CN is ignored by modern clients but still read by a few old ones;
    // it is capped at 64 characters (RFC 5280 upper bound ub-common-name).
    subject: [{ CN: [options.host.slice(0, 64)] }],
    issuer: options.issuer.subject,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + options.validMs),
    publicKey: options.publicKey,
    signingKey: options.issuerKey,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([san]),
      await x509.AuthorityKeyIdentifierExtension.create(options.issuer),
    ],
  });
}

export { x509 };
