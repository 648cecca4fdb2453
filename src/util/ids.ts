import { randomFillSync } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * A random base62 string of `length` characters. Rejection sampling keeps every
 * character uniform: bytes of 248 and above (4 * 62) are thrown away.
 */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    const byte = nextRandomByte();
    if (byte >= 248) continue;
    out += BASE62[byte % 62];
  }
  return out;
}

// Random bytes are drawn from the OS in blocks: one syscall per 4 KiB rather
// than one per id, which matters when every request gets an id.
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;

function nextRandomByte(): number {
  if (poolOffset === POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const byte = POOL[poolOffset] as number;
  // Each byte is used once and then forgotten.
  POOL[poolOffset] = 0;
  poolOffset += 1;
  return byte;
}

/**
 * A request id: a millisecond timestamp prefix keeps ids roughly sortable in
 * logs and audit rows, and 12 random characters keep them unique.
 */
export function newRequestId(now = Date.now()): string {
  return `req_${now.toString(36)}${randomBase62(12)}`;
}
