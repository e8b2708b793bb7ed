import { randomFillSync } from 'node:crypto';

/** Random bytes drawn in blocks, so an id costs a slice of a buffer rather than a system call. */
const pool = Buffer.alloc(24 * 256);
let offset = pool.length;

/** `bytes` random bytes as lowercase hex (trace ids: 16, span ids: 8). */
export function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}
