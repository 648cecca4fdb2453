import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { GrantdError } from '../../../src/errors.js';
import { Vault, VaultBackendError } from '../../../src/vault/vault.js';
import { vaultBehaviour } from './behaviour.js';
import { captureLogger, listFiles, randomKey, tempHome } from './util.js';

function fileVault(home: string, key: string | undefined, env: NodeJS.ProcessEnv = {}) {
  const log = captureLogger();
  const open = () =>
    Vault.open({ home, vault: { backend: 'file', key } }, { logger: log.logger, env });
  return { log, open };
}

/** A vault file made by hand from the documented layout, independent of the encoder. */
function sealWith(key: Buffer, plaintext: string, aad = true): Buffer {
  const header = Buffer.concat([Buffer.from('GRANTD-VAULT', 'ascii'), Buffer.from([1])]);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  if (aad) cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([header, nonce, body, cipher.getAuthTag()]);
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe.each([
  ['with vault.key from the environment', 'env:GRANTD_VAULT_KEY'],
  ['with a generated key', undefined],
])('file backend %s', (_label, keySpec) => {
  for (const behaviour of vaultBehaviour) {
    it(behaviour.name, async () => {
      const { open } = fileVault(tempHome(), keySpec, { GRANTD_VAULT_KEY: randomKey() });
      await behaviour.run({ open });
    });
  }
});

describe('file backend on disk', () => {
  it('creates vault.enc and the generated vault.key with mode 0600', async () => {
    const home = tempHome();
    const { open } = fileVault(home, undefined);
    await (await open()).put('gr_1', { kind: 'static', token: 'secret' }, 1);

    expect(mode(join(home, 'vault.enc'))).toBe(0o600);
    expect(mode(join(home, 'vault.key'))).toBe(0o600);
    expect(mode(home)).toBe(0o700);
    expect(
      Buffer.from(readFileSync(join(home, 'vault.key'), 'utf8').trim(), 'base64'),
    ).toHaveLength(32);
    expect(listFiles(home)).toEqual(['vault.enc', 'vault.key']);
  });

  it('warns once that the generated key sits beside the data, and reuses it', async () => {
    const home = tempHome();
    const { open, log } = fileVault(home, undefined);
    await (await open()).put('gr_1', { kind: 'static', token: 'secret' }, 1);
    const keyText = readFileSync(join(home, 'vault.key'), 'utf8');

    const warnings = log.at('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain(join(home, 'vault.key'));
    expect(warnings[0]!.msg).toContain('set vault.key');

    expect(await (await open()).get('gr_1', 1)).toEqual({ kind: 'static', token: 'secret' });
    expect(log.at('warn')).toHaveLength(1);
    expect(readFileSync(join(home, 'vault.key'), 'utf8')).toBe(keyText);
    expect(log.raw.join('\n')).not.toContain(keyText.trim());
  });

  it('makes one key when two vaults open a fresh data folder at once', async () => {
    const home = tempHome();
    const { open } = fileVault(home, undefined);
    const [a, b] = await Promise.all([open(), open()]);
    await a.put('gr_1', { kind: 'static', token: 'one key' }, 1);
    expect(await b.get('gr_1', 1)).toEqual({ kind: 'static', token: 'one key' });
  });

  it('uses a fresh nonce for every write, even of the same content', async () => {
    const home = tempHome();
    const { open } = fileVault(home, 'env:K', { K: randomKey() });
    const vault = await open();
    const path = join(home, 'vault.enc');

    await vault.put('gr_1', { kind: 'static', token: 'same' }, 1);
    const first = readFileSync(path);
    await vault.put('gr_1', { kind: 'static', token: 'same' }, 1);
    const second = readFileSync(path);

    expect(first.subarray(0, 13).toString('latin1')).toBe('GRANTD-VAULT\u0001');
    expect(second).toHaveLength(first.length);
    expect(second.subarray(13, 25).equals(first.subarray(13, 25))).toBe(false);
    expect(second.equals(first)).toBe(false);
  });

  it('never writes a token in plaintext to vault.enc or the log', async () => {
    const home = tempHome();
    const { open, log } = fileVault(home, 'env:K', { K: randomKey() });
    const vault = await open();
    const secrets = ['sk-PLAINTEXT-MARKER-1', 'refresh-PLAINTEXT-MARKER-2', 'access-MARKER-3'];
    await vault.put('gr_s', { kind: 'static', token: secrets[0]! }, 1);
    await vault.put(
      'gr_o',
      { kind: 'oauth', access_token: secrets[2]!, refresh_token: secrets[1]!, obtained_at: 1 },
      1,
    );
    await vault.get('gr_s', 2);

    const bytes = readFileSync(join(home, 'vault.enc'));
    for (const secret of secrets) {
      expect(bytes.includes(Buffer.from(secret, 'utf8'))).toBe(false);
      expect(bytes.includes(Buffer.from(secret, 'utf16le'))).toBe(false);
      expect(bytes.toString('latin1')).not.toContain(Buffer.from(secret).toString('base64'));
      expect(log.raw.join('\n')).not.toContain(secret);
    }
  });

  it('reads a file made from the documented layout', async () => {
    const home = tempHome();
    const key = randomBytes(32);
    mkdirSync(home, { recursive: true });
    const stored = JSON.stringify({ version: 4, credential: { kind: 'static', token: 'by hand' } });
    writeFileSync(
      join(home, 'vault.enc'),
      sealWith(key, JSON.stringify({ entries: { gr_h: stored } })),
    );
    const { open } = fileVault(home, 'env:K', { K: key.toString('hex') });
    expect(await (await open()).get('gr_h', 4)).toEqual({ kind: 'static', token: 'by hand' });
  });
});

describe('a damaged vault file', () => {
  const key = randomBytes(32);
  const entries = JSON.stringify({
    entries: { gr_1: JSON.stringify({ version: 1, credential: { kind: 'static', token: 't' } }) },
  });
  type Damage = (good: Buffer) => Buffer;
  const flip =
    (at: (length: number) => number): Damage =>
    (good) => {
      const bad = Buffer.from(good);
      const i = at(bad.length);
      bad[i] = bad[i]! ^ 0x01;
      return bad;
    };
  const cases: [string, Damage, RegExp, Buffer?][] = [
    ['truncated to half', (good) => good.subarray(0, good.length >> 1), /restore/],
    ['truncated inside the header', (good) => good.subarray(0, 20), /restore/],
    ['empty', () => Buffer.alloc(0), /restore/],
    ['with a flipped ciphertext byte', flip((n) => n - 20), /vault\.key/],
    ['with a flipped tag byte', flip((n) => n - 1), /vault\.key/],
    ['with a flipped nonce byte', flip(() => 15), /vault\.key/],
    ['with a flipped magic byte', flip(() => 2), /restore/],
    ['with an unknown format version', flip(() => 12), /version/],
    ['sealed without the header as AAD', () => sealWith(key, entries, false), /vault\.key/],
    ['that decrypts to garbage', () => sealWith(key, 'not json {'), /restore/],
    [
      'that decrypts to JSON of the wrong shape',
      () => sealWith(key, '{"entries":{"a":1}}'),
      /restore/,
    ],
    ['under a different key', (good) => good, /vault\.key/, randomBytes(32)],
  ];

  it.each(cases)(
    'fails get, put and delete, logs once, and is left byte for byte: %s',
    async (_name, damage, hint, otherKey) => {
      const home = tempHome();
      mkdirSync(home, { recursive: true });
      const path = join(home, 'vault.enc');
      writeFileSync(path, damage(sealWith(key, entries)), { mode: 0o600 });
      const before = readFileSync(path);

      const { open, log } = fileVault(home, 'env:K', { K: (otherKey ?? key).toString('base64') });
      const vault = await open();
      const attempts = [
        () => vault.get('gr_1', 1),
        () => vault.get('gr_1', 1),
        () => vault.put('gr_1', { kind: 'static', token: 'new' }, 2),
        () => vault.put('gr_2', { kind: 'static', token: 'new' }, 1),
        () => vault.delete('gr_1'),
      ];
      for (const attempt of attempts) {
        const error: unknown = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(GrantdError);
        expect((error as GrantdError).code).toBe('vault_unavailable');
        expect((error as GrantdError).message).toMatch(/^The vault cannot be (read|written)\.$/);
        expect((error as GrantdError).cause).toBeInstanceOf(VaultBackendError);
      }

      expect(readFileSync(path).equals(before)).toBe(true);
      expect(listFiles(home)).toEqual(['vault.enc']);
      const errors = log.at('error');
      expect(errors).toHaveLength(1);
      expect(errors[0]!.msg).toMatch(hint);
      expect(errors[0]!.msg).toContain(path);
    },
  );
});

describe('vault.key', () => {
  const key = randomBytes(32);

  async function roundTrip(spec: string, env: NodeJS.ProcessEnv, home = tempHome()) {
    const { open } = fileVault(home, spec, env);
    await (await open()).put('gr_k', { kind: 'static', token: 'k' }, 1);
    return home;
  }

  it.each([
    ['base64 from env:', 'env:K', { K: key.toString('base64') }],
    ['lower-case hex from env:', 'env:K', { K: key.toString('hex') }],
    ['upper-case hex from env:', 'env:K', { K: key.toString('hex').toUpperCase() }],
    ['unpadded base64url from env:', 'env:K', { K: key.toString('base64url') }],
  ])('accepts %s', async (_label, spec, env) => {
    const home = await roundTrip(spec, env);
    // The same 32 bytes in another spelling open the same vault.
    const { open } = fileVault(home, 'env:OTHER', { OTHER: key.toString('hex') });
    expect(await (await open()).get('gr_k', 1)).toEqual({ kind: 'static', token: 'k' });
  });

  it('reads file:PATH and trims the trailing newline', async () => {
    const home = tempHome();
    mkdirSync(home, { recursive: true });
    const b64 = join(home, '..', 'key.b64');
    const hex = join(home, '..', 'key.hex');
    writeFileSync(b64, `${key.toString('base64')}\n`);
    writeFileSync(hex, `${key.toString('hex')}\r\n`);
    await roundTrip(`file:${b64}`, {}, home);
    const { open } = fileVault(home, `file:${hex}`);
    expect(await (await open()).get('gr_k', 1)).toEqual({ kind: 'static', token: 'k' });
  });

  it.each([
    ['16 bytes of base64', randomBytes(16).toString('base64')],
    ['33 bytes of base64', randomBytes(33).toString('base64')],
    ['63 hex characters', randomBytes(32).toString('hex').slice(1)],
    ['a passphrase', 'correct horse battery staple'],
  ])('refuses %s, naming vault.key and never the value', async (_label, value) => {
    const { open, log } = fileVault(tempHome(), 'env:K', { K: value });
    const error = await open().then(
      () => undefined,
      (e: unknown) => e as GrantdError,
    );
    expect(error).toBeInstanceOf(GrantdError);
    expect(error!.code).toBe('vault_unavailable');
    expect(error!.message).toContain('vault.key');
    expect(error!.message).toContain('32-byte');
    expect(error!.message).not.toContain(value);
    expect(log.raw.join('\n')).not.toContain(value);
  });

  it('names the variable when env:NAME is not set', async () => {
    const { open } = fileVault(tempHome(), 'env:NOT_SET_ANYWHERE');
    await expect(open()).rejects.toThrow(/vault\.key.*NOT_SET_ANYWHERE/);
  });

  it('names the file when file:PATH cannot be read', async () => {
    const { open } = fileVault(tempHome(), 'file:/nonexistent/grantd.key');
    await expect(open()).rejects.toThrow(/vault\.key.*\/nonexistent\/grantd\.key/);
  });

  it('refuses to make a new key for a vault whose generated key is gone', async () => {
    const home = tempHome();
    const { open } = fileVault(home, undefined);
    await (await open()).put('gr_1', { kind: 'static', token: 't' }, 1);
    rmSync(join(home, 'vault.key'));
    const before = readFileSync(join(home, 'vault.enc'));

    await expect(open()).rejects.toThrow(/vault\.key.*missing.*vault\.enc exists/);
    expect(listFiles(home)).toEqual(['vault.enc']);
    expect(readFileSync(join(home, 'vault.enc')).equals(before)).toBe(true);
  });

  it('refuses a damaged generated key file instead of replacing it', async () => {
    const home = tempHome();
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'vault.key'), 'short\n');
    const { open } = fileVault(home, undefined);
    await expect(open()).rejects.toThrow(/vault\.key/);
    expect(readFileSync(join(home, 'vault.key'), 'utf8')).toBe('short\n');
  });
});
