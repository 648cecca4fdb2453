import { X509Certificate } from 'node:crypto';
import {
  mkdirSync,
  readFileSync,
  writeFileSync,
  linkSync,
  unlinkSync,
  renameSync,
  chmodSync,
  statSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import {
  createCaCertificate,
  exportPrivateKeyPem,
  generateKeyPair,
  importKeyPair,
  issuerFrom,
  type Issuer,
  type KeyPair,
} from './x509.js';
import { randomBase62 } from '../util/ids.js';

/** The CA's validity: long enough that users trust it once, short enough to expire. */
const CA_VALID_DAYS = 3650;

/** Where the CA lives inside the data folder, and which files it is made of. */
export interface AuthorityPaths {
  dir: string;
  /** The certificate, safe to share: clients trust it. */
  cert: string;
  /** The private key followed by the certificate; owner-only. */
  key: string;
}

export function authorityPaths(home: string): AuthorityPaths {
  const dir = join(home, 'ca');
  return { dir, cert: join(dir, 'ca.pem'), key: join(dir, 'ca-key.pem') };
}

/** The local certificate authority: signs leaf certificates for intercepted hosts. */
export interface Authority {
  paths: AuthorityPaths;
  certPem: string;
  /** SHA-256 of the DER certificate, colon-separated upper-case hex as browsers show it. */
  fingerprint256: string;
  certificate: X509Certificate;
  keys: KeyPair;
  /** The CA's subject, key identifier and key, as leaf signing needs them. */
  issuer: Issuer;
  created: boolean;
}

/**
 * Loads the CA from `<home>/ca`, making it on first use. Safe when several
 * processes start at once: the key file is published with link(2), which
 * fails if another process got there first, and the loser reads the winner's.
 */
export async function loadOrCreateAuthority(home: string): Promise<Authority> {
  const paths = authorityPaths(home);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });

  let created = false;
  if (!exists(paths.key)) created = await createAuthorityFiles(paths);

  const keyFile = readFileSync(paths.key, 'utf8');
  checkOwnerOnly(paths.key);
  const certPem = extractCertificate(keyFile, paths.key);
  ensureCertFile(paths.cert, certPem);

  const certificate = new X509Certificate(certPem);
  let keys: KeyPair;
  let issuer: Issuer;
  try {
    keys = importKeyPair(keyFile, certPem);
    issuer = issuerFrom(certificate, keys.privateKey);
  } catch (error) {
    throw new Error(`${paths.key}: ${(error as Error).message}`, { cause: error });
  }
  return {
    paths,
    certPem,
    fingerprint256: certificate.fingerprint256,
    certificate,
    keys,
    issuer,
    created,
  };
}

/** Reads the CA certificate without touching the key; undefined if there is none yet. */
export function readAuthorityCertificate(
  home: string,
): { pem: string; fingerprint256: string } | undefined {
  const paths = authorityPaths(home);
  try {
    const pem = readFileSync(paths.cert, 'utf8');
    return { pem, fingerprint256: new X509Certificate(pem).fingerprint256 };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

async function createAuthorityFiles(paths: AuthorityPaths): Promise<boolean> {
  const keys = await generateKeyPair();
  const cert = await createCaCertificate(keys, {
    commonName: `grantd local CA (${hostname().slice(0, 32)})`,
    validDays: CA_VALID_DAYS,
  });
  const pem = exportPrivateKeyPem(keys.privateKey) + cert.pem;

  const tmp = `${paths.key}.${randomBase62(8)}.tmp`;
  writeFileSync(tmp, pem, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, paths.key);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(tmp);
  }
}

function extractCertificate(keyFile: string, path: string): string {
  const match = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(keyFile);
  if (!match) throw new Error(`${path} holds no certificate; move it aside and start again`);
  return `${match[0]}\n`;
}

/** Keeps `ca.pem` equal to the certificate in the key file, replacing it atomically. */
function ensureCertFile(path: string, certPem: string): void {
  try {
    if (readFileSync(path, 'utf8') === certPem) return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const tmp = `${path}.${randomBase62(8)}.tmp`;
  writeFileSync(tmp, certPem, { mode: 0o644 });
  renameSync(tmp, path);
}

/** A key file someone else can read is tightened rather than trusted as is. */
function checkOwnerOnly(path: string): void {
  if (process.platform === 'win32') return;
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
