import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  createCaCertificate,
  EC_P256,
  exportPrivateKeyPem,
  generateKeyPair,
  randomSerial,
  x509,
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
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [names[0] ?? 'upstream'] }],
    issuer: ca.subject,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 86_400_000),
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns', value }))),
    ],
  });

  const pki: BenchPki = {
    caFile: join(dir, 'upstream-ca.pem'),
    certFile: join(dir, 'upstream-cert.pem'),
    keyFile: join(dir, 'upstream-key.pem'),
  };
  writeFileSync(pki.caFile, ca.toString('pem') + '\n');
  writeFileSync(pki.certFile, leaf.toString('pem') + '\n');
  writeFileSync(pki.keyFile, await exportPrivateKeyPem(leafKeys.privateKey), { mode: 0o600 });
  return pki;
}
