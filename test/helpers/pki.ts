import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';

import {
  createCaCertificate,
  EC_P256,
  exportPrivateKeyPem,
  randomSerial,
  generateKeyPair,
  x509,
  type KeyPair,
} from '../../src/ca/x509.js';

/** A throwaway CA for the fake upstream servers of one test file. */
export interface TestPki {
  caPem: string;
  caPath: string;
  dir: string;
  /** A certificate and key for the given names (DNS names or IP addresses). */
  issue(names: string[]): Promise<{ cert: string; key: string }>;
}

export async function createTestPki(name = 'grantd test upstream CA'): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'grantd-pki-'));
  const keys = await generateKeyPair();
  const ca = await createCaCertificate(keys, { commonName: name, validDays: 2 });
  const caPem = ca.toString('pem') + '\n';
  const caPath = join(dir, 'ca.pem');
  writeFileSync(caPath, caPem);
  return { caPem, caPath, dir, issue: (names) => issueLeaf(ca, keys, names) };
}

async function issueLeaf(
  ca: x509.X509Certificate,
  caKeys: KeyPair,
  names: string[],
): Promise<{ cert: string; key: string }> {
  const leafKeys = await generateKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [names[0] ?? 'upstream'] }],
    issuer: ca.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => (isIP(n) ? { type: 'ip', value: n } : { type: 'dns', value: n })),
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportPrivateKeyPem(leafKeys.privateKey) };
}
