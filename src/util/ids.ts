import { randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * A random base62 string of `length` characters. Rejection sampling keeps every
 * character uniform: bytes of 248 and above (4 * 62) are thrown away.
 */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    const bytes = randomBytes(Math.ceil((length - out.length) * 1.1) + 4);
    for (const byte of bytes) {
      if (byte >= 248) continue;
      out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/**
 * A request id: a millisecond timestamp prefix keeps ids roughly sortable in
 * logs and audit rows, and 12 random characters keep them unique.
 */
export function newRequestId(now = Date.now()): string {
  return `req_${now.toString(36)}${randomBase62(12)}`;
}
