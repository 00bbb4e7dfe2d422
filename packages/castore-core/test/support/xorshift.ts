/**
 * Deterministic pseudo-random bytes: xorshift32 from `seed` (0 counts as 1), the low byte of each
 * state. Content-defined chunking needs input without structure; the FastCDC vectors' generated
 * input is this recipe with seed 0x12345678.
 */
export function xorshiftBytes(length: number, seed = 0x12345678): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
