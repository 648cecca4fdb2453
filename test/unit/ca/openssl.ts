import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The openssl command line, an X.509 implementation independent of grantd's writer. */
export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

export function openssl(args: string[]): { code: number | null; out: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

/**
 * `openssl x509 -text`, how an independent parser reads the certificate, with
 * runs of white space made single spaces for matching.
 */
export function opensslText(dir: string, pem: string): string {
  const path = join(dir, `text-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(path, pem);
  const { code, out } = openssl(['x509', '-in', path, '-noout', '-text']);
  if (code !== 0) throw new Error(out);
  return out.replace(/\s+/g, ' ');
}

/**
 * `openssl verify` of `certPem` with `caPem` as the only trust anchor, for the
 * TLS server purpose and with RFC 5280 strictness unless told otherwise, and
 * for a host name or IP address when given one.
 */
export function opensslVerify(
  dir: string,
  caPem: string,
  certPem: string,
  options: { purpose?: string; hostname?: string; ip?: string; strict?: boolean } = {},
): { code: number | null; out: string } {
  const { purpose = 'sslserver', hostname, ip, strict = true } = options;
  const ca = join(dir, 'verify-ca.pem');
  const cert = join(dir, 'verify-cert.pem');
  writeFileSync(ca, caPem);
  writeFileSync(cert, certPem);
  return openssl([
    'verify',
    ...(strict ? ['-x509_strict'] : []),
    '-purpose',
    purpose,
    '-CAfile',
    ca,
    ...(hostname === undefined ? [] : ['-verify_hostname', hostname]),
    ...(ip === undefined ? [] : ['-verify_ip', ip]),
    cert,
  ]);
}

/** An EC P-256 CA made by `openssl req -x509`, shaped like grantd's own. */
export function opensslCa(
  dir: string,
  { subjectKeyIdentifier = true } = {},
): { keyPem: string; certPem: string; keyPath: string; certPath: string } {
  const config = join(dir, 'ca.cnf');
  writeFileSync(
    config,
    [
      '[req]',
      'distinguished_name = dn',
      'x509_extensions = ext',
      'prompt = no',
      '[dn]',
      // openssl writes these as UTF8String, where grantd would write PrintableString.
      'CN = openssl-made CA',
      'O = grantd',
      '[ext]',
      'basicConstraints = critical,CA:TRUE,pathlen:0',
      'keyUsage = critical,keyCertSign,cRLSign',
      `subjectKeyIdentifier = ${subjectKeyIdentifier ? 'hash' : 'none'}`,
      '',
    ].join('\n'),
  );
  const keyPath = join(dir, 'openssl-key.pem');
  const certPath = join(dir, 'openssl-cert.pem');
  // prettier-ignore
  const { code, out } = openssl([
    'req', '-x509', '-config', config, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '30',
  ]);
  if (code !== 0) throw new Error(out);
  const read = (path: string) => readFileSync(path, 'utf8');
  return { keyPem: read(keyPath), certPem: read(certPath), keyPath, certPath };
}
