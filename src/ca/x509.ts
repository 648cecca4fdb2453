import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateNodeKeyPair,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';

import {
  bitString,
  boolean,
  explicit,
  ia5String,
  implicit,
  integer,
  isPrintable,
  namedBits,
  octetString,
  oid,
  printableString,
  readChildren,
  readOnly,
  sequence,
  set,
  smallInteger,
  Tags,
  time,
  utf8String,
  type Element,
} from './der.js';

/**
 * ECDSA P-256 with SHA-256: small keys, fast handshakes, accepted by every
 * TLS stack. The only algorithm grantd makes or loads.
 */
const CURVE = 'prime256v1';
/** ecdsa-with-SHA256, parameters absent (RFC 5758 section 3.2). */
const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

const OID = {
  commonName: oid('2.5.4.3'),
  organizationName: oid('2.5.4.10'),
  subjectKeyIdentifier: oid('2.5.29.14'),
  keyUsage: oid('2.5.29.15'),
  subjectAltName: oid('2.5.29.17'),
  basicConstraints: oid('2.5.29.19'),
  authorityKeyIdentifier: oid('2.5.29.35'),
  extKeyUsage: oid('2.5.29.37'),
  serverAuth: oid('1.3.6.1.5.5.7.3.1'),
};

/** KeyUsage bit positions, RFC 5280 section 4.2.1.3. */
export const KeyUsage = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

/** Clocks that run behind the one that made a certificate still accept it for an hour. */
const CLOCK_SLACK_MS = 3_600_000;

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A new P-256 key pair, made in libuv's thread pool. */
export function generateKeyPair(): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    generateNodeKeyPair('ec', { namedCurve: CURVE }, (error, publicKey, privateKey) => {
      if (error) reject(error);
      else resolve({ publicKey, privateKey });
    });
  });
}

/** PKCS#8 PEM, the format grantd has always written to `ca-key.pem`. */
export function exportPrivateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/**
 * Imports the CA's PKCS#8 key and takes the public half from its certificate,
 * refusing a key of another curve or one that does not match the certificate
 * (every leaf signed with it would then fail to verify).
 */
export function importKeyPair(keyPem: string, certPem: string): KeyPair {
  const privateKey = createPrivateKey({
    key: fromPem(keyPem, 'PRIVATE KEY'),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = new X509Certificate(certPem).publicKey;
  if (!isP256(privateKey) || !isP256(publicKey)) {
    throw new Error('the CA key must be an EC P-256 (prime256v1) key');
  }
  if (!createPublicKey(privateKey).equals(publicKey)) {
    throw new Error('the CA private key does not match its certificate');
  }
  return { privateKey, publicKey };
}

function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === CURVE;
}

/** A positive, non-zero serial number of up to 128 bits, as RFC 5280 section 4.1.2.2 asks. */
export function randomSerial(): Buffer {
  for (;;) {
    const bytes = randomBytes(16);
    bytes[0] = (bytes[0] as number) & 0x7f;
    if (bytes.some((byte) => byte !== 0)) return bytes;
  }
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

/** A certificate as grantd hands it on: DER, and PEM ending in a newline. */
export interface Certificate {
  der: Buffer;
  pem: string;
}

/** What signing a certificate in a CA's name takes, read once from the CA. */
export interface Issuer {
  /** The CA certificate's subject Name, byte for byte, so chain building matches it. */
  name: Buffer;
  /** The CA's subjectKeyIdentifier, for the leaves' authorityKeyIdentifier. */
  keyIdentifier: Buffer;
  privateKey: KeyObject;
}

export function issuerFrom(certificate: X509Certificate, privateKey: KeyObject): Issuer {
  const fields = readTbsFields(certificate.raw);
  const ski = fields.extensions.find((ext) => ext.id.equals(OID.subjectKeyIdentifier));
  const keyIdentifier = ski
    ? readOnly(ski.value, Tags.OCTET_STRING).content
    : keyIdentifierOf(fields.subjectPublicKeyInfo);
  return {
    name: Buffer.from(fields.subject),
    keyIdentifier: Buffer.from(keyIdentifier),
    privateKey,
  };
}

export interface CreateCaOptions {
  commonName: string;
  validDays: number;
}

/** The self-signed CA: CN=<name>, O=grantd, allowed to sign end-entity certificates only. */
export function createCaCertificate(keys: KeyPair, options: CreateCaOptions): Promise<Certificate> {
  const now = Date.now();
  const name = distinguishedName({ CN: options.commonName, O: 'grantd' });
  const spki = subjectPublicKeyInfo(keys.publicKey);
  return signCertificate(
    {
      issuer: name,
      subject: name,
      notBefore: new Date(now - CLOCK_SLACK_MS),
      notAfter: new Date(now + options.validDays * 86_400_000),
      subjectPublicKeyInfo: spki,
      extensions: [
        basicConstraints({ ca: true, pathLength: 0 }),
        keyUsage([KeyUsage.keyCertSign, KeyUsage.cRLSign]),
        subjectKeyIdentifier(keyIdentifierOf(spki)),
      ],
    },
    keys.privateKey,
  );
}

export interface LeafOptions {
  host: string;
  issuer: Issuer;
  publicKey: KeyObject;
  validMs: number;
}

/** A server certificate for one host name or IP address, signed by the CA. */
export function createLeafCertificate(options: LeafOptions): Promise<Certificate> {
  const now = Date.now();
  return signCertificate(
    {
      // Subject CN is ignored by modern clients but still read by a few old ones;
      // it is capped at 64 characters (RFC 5280 upper bound ub-common-name).
      subject: distinguishedName({ CN: options.host.slice(0, 64) }),
      issuer: options.issuer.name,
      notBefore: new Date(now - CLOCK_SLACK_MS),
      notAfter: new Date(now + options.validMs),
      subjectPublicKeyInfo: subjectPublicKeyInfo(options.publicKey),
      extensions: [
        basicConstraints({ ca: false }),
        keyUsage([KeyUsage.digitalSignature]),
        extKeyUsageServerAuth(),
        subjectAltName([options.host]),
        authorityKeyIdentifier(options.issuer.keyIdentifier),
      ],
    },
    options.issuer.privateKey,
  );
}

/** The parts of a TBSCertificate that vary; version 3 and ECDSA-SHA256 are fixed. */
export interface CertificateFields {
  /** Unsigned big-endian bytes; a random one when absent. */
  serial?: Buffer;
  /** Encoded Names, from distinguishedName or copied from another certificate. */
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  subjectPublicKeyInfo: Buffer;
  /** Encoded Extensions, from the builders below. */
  extensions: Buffer[];
}

/** Encodes the TBSCertificate and signs it with `signingKey` in libuv's thread pool. */
export async function signCertificate(
  fields: CertificateFields,
  signingKey: KeyObject,
): Promise<Certificate> {
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    integer(fields.serial ?? randomSerial()),
    ECDSA_WITH_SHA256,
    fields.issuer,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subject,
    fields.subjectPublicKeyInfo,
    ...(fields.extensions.length > 0 ? [explicit(3, sequence(...fields.extensions))] : []),
  );
  // crypto.sign gives DER-encoded ECDSA-Sig-Value by default, which X.509 wants.
  const signature = await new Promise<Buffer>((resolve, reject) => {
    sign('sha256', tbs, signingKey, (error, result) => {
      if (error) reject(error);
      else resolve(result);
    });
  });
  const der = sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
  return { der, pem: toPem(der, 'CERTIFICATE') };
}

export function subjectPublicKeyInfo(publicKey: KeyObject): Buffer {
  return publicKey.export({ type: 'spki', format: 'der' });
}

/**
 * A Name of one attribute per RDN, CN first. PrintableString where the value
 * allows it, UTF8String otherwise, as certificates made by grantd always had.
 */
export function distinguishedName(attributes: { CN: string; O?: string }): Buffer {
  const rdn = (type: Buffer, value: string) =>
    set(sequence(type, isPrintable(value) ? printableString(value) : utf8String(value)));
  return sequence(
    rdn(OID.commonName, attributes.CN),
    ...(attributes.O === undefined ? [] : [rdn(OID.organizationName, attributes.O)]),
  );
}

function extension(id: Buffer, critical: boolean, value: Buffer): Buffer {
  // DER leaves out a BOOLEAN that equals its DEFAULT FALSE.
  return sequence(id, ...(critical ? [boolean(true)] : []), octetString(value));
}

/** Always critical, as RFC 5280 requires for CAs and grantd has always done for leaves. */
export function basicConstraints(options: { ca: boolean; pathLength?: number }): Buffer {
  return extension(
    OID.basicConstraints,
    true,
    sequence(
      ...(options.ca ? [boolean(true)] : []),
      ...(options.pathLength === undefined ? [] : [smallInteger(options.pathLength)]),
    ),
  );
}

export function keyUsage(bits: readonly number[]): Buffer {
  return extension(OID.keyUsage, true, namedBits(bits));
}

export function extKeyUsageServerAuth(): Buffer {
  return extension(OID.extKeyUsage, false, sequence(OID.serverAuth));
}

/** dNSName ([2]) for names, iPAddress ([7], 4 or 16 bytes) for IPv4 and IPv6 addresses. */
export function subjectAltName(names: readonly string[]): Buffer {
  const generalNames = names.map((name) =>
    isIP(name) ? implicit(7, octetString(ipAddressBytes(name))) : implicit(2, ia5String(name)),
  );
  return extension(OID.subjectAltName, false, sequence(...generalNames));
}

export function subjectKeyIdentifier(keyIdentifier: Buffer): Buffer {
  return extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier));
}

/** Only the keyIdentifier ([0]), which is what chain builders match on. */
export function authorityKeyIdentifier(keyIdentifier: Buffer): Buffer {
  return extension(
    OID.authorityKeyIdentifier,
    false,
    sequence(implicit(0, octetString(keyIdentifier))),
  );
}

/** RFC 5280 section 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits. */
function keyIdentifierOf(spki: Buffer): Buffer {
  const [, subjectPublicKey] = readChildren(readOnly(spki, Tags.SEQUENCE));
  if (subjectPublicKey?.tag !== Tags.BIT_STRING) throw new Error('bad SubjectPublicKeyInfo');
  return createHash('sha1').update(subjectPublicKey.content.subarray(1)).digest();
}

/** The network-order bytes of an address that net.isIP accepts. */
export function ipAddressBytes(address: string): Buffer {
  const family = isIP(address);
  if (family === 4) return Buffer.from(address.split('.').map(Number));
  if (family !== 6) throw new RangeError(`not an IP address: ${address}`);
  // A zone (fe80::1%eth0) names a local interface; it is not part of the address.
  let text = address.replace(/%.*$/, '');
  // A dotted IPv4 tail (::ffff:192.0.2.1) spells the last two groups.
  const v4 = /[\d.]+$/.exec(text)?.[0];
  if (v4?.includes('.')) {
    const bytes = ipAddressBytes(v4);
    const groups = [bytes.readUInt16BE(0), bytes.readUInt16BE(2)];
    text = text.slice(0, -v4.length) + groups.map((g) => g.toString(16)).join(':');
  }
  const halves = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const head = parse(halves[0] ?? '');
  const tail = halves.length > 1 ? parse(halves[1] ?? '') : [];
  const zeros = 8 - head.length - tail.length;
  if (halves.length > 2 || zeros < 0 || (halves.length === 1 && zeros !== 0)) {
    throw new RangeError(`bad IPv6 address: ${address}`);
  }
  const bytes = Buffer.alloc(16);
  [...head, ...Array<number>(zeros).fill(0), ...tail].forEach((group, i) => {
    bytes.writeUInt16BE(group, i * 2);
  });
  return bytes;
}

interface TbsFields {
  subject: Buffer;
  subjectPublicKeyInfo: Buffer;
  /** Each extension's encoded OID and the contents of its extnValue. */
  extensions: { id: Buffer; value: Buffer }[];
}

/**
 * Walks Certificate -> TBSCertificate far enough to return the subject and
 * key as encoded, and the extensions (RFC 5280 section 4.1).
 */
function readTbsFields(der: Buffer): TbsFields {
  const [tbs] = readChildren(readOnly(der, Tags.SEQUENCE));
  if (tbs?.tag !== Tags.SEQUENCE) throw new Error('bad certificate: no TBSCertificate');
  const fields = readChildren(tbs);
  // version [0] is absent from v1 certificates; serial, signature, issuer and
  // validity come next, then subject and subjectPublicKeyInfo.
  const start = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[start + 4];
  const spki = fields[start + 5];
  if (subject?.tag !== Tags.SEQUENCE || spki?.tag !== Tags.SEQUENCE) {
    throw new Error('bad certificate: no subject or key');
  }
  const wrapped = fields.slice(start + 6).find((field) => field.tag === 0xa3);
  const extensions = wrapped ? readChildren(onlyChild(wrapped)).map(readExtension) : [];
  return { subject: subject.raw, subjectPublicKeyInfo: spki.raw, extensions };
}

function onlyChild(element: Element): Element {
  const children = readChildren(element);
  if (children.length !== 1 || children[0]?.tag !== Tags.SEQUENCE) {
    throw new Error('bad certificate: malformed extensions');
  }
  return children[0];
}

function readExtension(element: Element): TbsFields['extensions'][number] {
  // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
  const [id, second, third] = readChildren(element);
  const value = second?.tag === Tags.BOOLEAN ? third : second;
  if (id?.tag !== Tags.OBJECT_IDENTIFIER || value?.tag !== Tags.OCTET_STRING) {
    throw new Error('bad certificate: malformed extension');
  }
  return { id: id.raw, value: value.content };
}
