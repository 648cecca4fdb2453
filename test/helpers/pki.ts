import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  createCaCertificate,
  distinguishedName,
  exportPrivateKeyPem,
  extKeyUsageServerAuth,
  generateKeyPair,
  issuerFrom,
  signCertificate,
  subjectAltName,
  subjectPublicKeyInfo,
  type Issuer,
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
  const caPath = join(dir, 'ca.pem');
  writeFileSync(caPath, ca.pem);
  const issuer = issuerFrom(new X509Certificate(ca.der), keys.privateKey);
  return { caPem: ca.pem, caPath, dir, issue: (names) => issueLeaf(issuer, names) };
}

async function issueLeaf(issuer: Issuer, names: string[]): Promise<{ cert: string; key: string }> {
  const leafKeys = await generateKeyPair();
  const now = Date.now();
  const cert = await signCertificate(
    {
      subject: distinguishedName({ CN: names[0] ?? 'upstream' }),
      issuer: issuer.name,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      subjectPublicKeyInfo: subjectPublicKeyInfo(leafKeys.publicKey),
      extensions: [subjectAltName(names), extKeyUsageServerAuth()],
    },
    issuer.privateKey,
  );
  return { cert: cert.pem, key: exportPrivateKeyPem(leafKeys.privateKey) };
}
