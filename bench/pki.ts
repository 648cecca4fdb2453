import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  basicConstraints,
  createCaCertificate,
  distinguishedName,
  exportPrivateKeyPem,
  extKeyUsageServerAuth,
  generateKeyPair,
  issuerFrom,
  keyUsage,
  KeyUsage,
  signCertificate,
  subjectAltName,
  subjectPublicKeyInfo,
} from '../src/ca/x509.js';

/** Where the throwaway CA and the upstream's certificate were written. */
export interface BenchPki {
  /** The throwaway CA certificate, which the load generator and grantd trust. */
  caFile: string;
  /** The upstream server's certificate and key. */
  certFile: string;
  keyFile: string;
}

/**
 * Makes a throwaway CA and one upstream certificate naming every host in
 * `names`, and writes them as PEM files into `dir`. Generated per run, like
 * the test CA: no key in the repository and no expiry date to trip on.
 */
export async function createBenchPki(dir: string, names: string[]): Promise<BenchPki> {
  const caKeys = await generateKeyPair();
  const ca = await createCaCertificate(caKeys, {
    commonName: 'grantd bench upstream CA',
    validDays: 1,
  });

  // createLeafCertificate takes a single host; both benchmark names must sit
  // on one certificate, so the leaf is built here with the same extensions.
  const leafKeys = await generateKeyPair();
  const now = Date.now();
  const issuer = issuerFrom(new X509Certificate(ca.der), caKeys.privateKey);
  const leaf = await signCertificate(
    {
      subject: distinguishedName({ CN: names[0] ?? 'upstream' }),
      issuer: issuer.name,
      notBefore: new Date(now - 3_600_000),
      notAfter: new Date(now + 86_400_000),
      subjectPublicKeyInfo: subjectPublicKeyInfo(leafKeys.publicKey),
      extensions: [
        basicConstraints({ ca: false }),
        keyUsage([KeyUsage.digitalSignature]),
        extKeyUsageServerAuth(),
        subjectAltName(names),
      ],
    },
    caKeys.privateKey,
  );

  const pki: BenchPki = {
    caFile: join(dir, 'upstream-ca.pem'),
    certFile: join(dir, 'upstream-cert.pem'),
    keyFile: join(dir, 'upstream-key.pem'),
  };
  writeFileSync(pki.caFile, ca.pem);
  writeFileSync(pki.certFile, leaf.pem);
  writeFileSync(pki.keyFile, exportPrivateKeyPem(leafKeys.privateKey), { mode: 0o600 });
  return pki;
}
