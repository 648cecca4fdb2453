import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Layout of `vault.enc`:
 *
 *   "GRANTD-VAULT" | version (1 byte) | nonce (12 bytes) | ciphertext | GCM tag (16 bytes)
 *
 * The magic and version are the header, bound as AAD so a file cannot be passed off as
 * another format version. The plaintext is JSON `{"entries": {id: value}}`, encrypted whole.
 */
const MAGIC = Buffer.from('GRANTD-VAULT', 'ascii');
const VERSION = 1;
const HEADER = Buffer.concat([MAGIC, Buffer.from([VERSION])]);
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Bytes before the ciphertext; reading this much is enough to see the write's nonce. */
export const PREFIX_BYTES = HEADER.length + NONCE_BYTES;

export const KEY_BYTES = 32;

/** The vault file's name in the data folder. */
export const VAULT_FILE = 'vault.enc';

/** Why a vault file could not be opened; the caller turns it into an operator message. */
export type DecodeProblem = 'truncated' | 'not_a_vault' | 'unknown_version' | 'auth' | 'content';

export type DecodeResult =
  { ok: true; entries: Map<string, string> } | { ok: false; problem: DecodeProblem };

/** Encrypts the whole map under a fresh random nonce; never reuse a nonce with one key. */
export function encodeVault(entries: ReadonlyMap<string, string>, key: Buffer): Buffer {
  const plaintext = Buffer.from(JSON.stringify({ entries: Object.fromEntries(entries) }), 'utf8');
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(HEADER);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  plaintext.fill(0);
  return Buffer.concat([HEADER, nonce, body, cipher.getAuthTag()]);
}

export function decodeVault(data: Buffer, key: Buffer): DecodeResult {
  if (data.length < PREFIX_BYTES + TAG_BYTES) return { ok: false, problem: 'truncated' };
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) return { ok: false, problem: 'not_a_vault' };
  if (data[MAGIC.length] !== VERSION) return { ok: false, problem: 'unknown_version' };

  const nonce = data.subarray(HEADER.length, PREFIX_BYTES);
  const body = data.subarray(PREFIX_BYTES, data.length - TAG_BYTES);
  const tag = data.subarray(data.length - TAG_BYTES);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(HEADER);
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    // A wrong key and a modified file look the same to GCM: the tag does not verify.
    return { ok: false, problem: 'auth' };
  }

  const entries = parseEntries(plaintext.toString('utf8'));
  plaintext.fill(0);
  return entries === undefined ? { ok: false, problem: 'content' } : { ok: true, entries };
}

/** The nonce of an encoded file, which is unique per write: a cheap change detector. */
export function nonceOf(prefix: Buffer): Buffer | undefined {
  if (prefix.length < PREFIX_BYTES) return undefined;
  return prefix.subarray(HEADER.length, PREFIX_BYTES);
}

function parseEntries(text: string): Map<string, string> | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object') return undefined;
  const entries = (doc as { entries?: unknown }).entries;
  if (entries === null || typeof entries !== 'object' || Array.isArray(entries)) return undefined;

  const map = new Map<string, string>();
  for (const [id, value] of Object.entries(entries)) {
    if (typeof value !== 'string') return undefined;
    map.set(id, value);
  }
  return map;
}
