import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';

import { randomBase62 } from '../util/ids.js';

/** Where Linux distributions and macOS keep the system's root bundle. */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/ssl/cert.pem',
];

/**
 * The roots this machine trusts: the operating system's bundle where there is
 * one, and Node's built-in Mozilla set otherwise. Read once per call; callers
 * cache what they build from it.
 */
export function systemRoots(): string[] {
  for (const path of SYSTEM_BUNDLES) {
    try {
      const pems = splitPem(readFileSync(path, 'utf8'));
      if (pems.length > 0) return pems;
    } catch {
      // Not on this platform; try the next.
    }
  }
  return [...rootCertificates];
}

/** Reads extra roots from a PEM file, naming the file when it holds none. */
export function readRoots(path: string): string[] {
  const pems = splitPem(readFileSync(path, 'utf8'));
  if (pems.length === 0) throw new Error(`${path} holds no PEM certificate`);
  return pems;
}

export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
}

/**
 * Writes `<home>/ca/bundle.pem`: the system roots, any extra upstream roots,
 * and the grantd CA. Tools that take one bundle file (curl, requests, git)
 * then trust both grantd's intercepted hosts and everything else.
 */
export function writeTrustBundle(home: string, caPem: string, extraRoots: string[] = []): string {
  const path = join(home, 'ca', 'bundle.pem');
  const text = [...systemRoots(), ...extraRoots, caPem.trim()].join('\n') + '\n';
  try {
    if (readFileSync(path, 'utf8') === text) return path;
  } catch {
    // Missing: written below.
  }
  const tmp = `${path}.${randomBase62(8)}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
  return path;
}
