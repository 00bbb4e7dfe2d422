/**
 * Deterministic pseudo-random bytes (mulberry32), so fixture data is the same on every machine and
 * incompressible (no backend gets to look fast by compressing it). Not for anything secret.
 */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0;
  for (let offset = 0; offset < length; offset += 4) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const word = (t ^ (t >>> 14)) >>> 0;
    // Little-endian, written byte by byte so the result does not depend on the platform's endianness.
    out[offset] = word & 0xff;
    if (offset + 1 < length) out[offset + 1] = (word >>> 8) & 0xff;
    if (offset + 2 < length) out[offset + 2] = (word >>> 16) & 0xff;
    if (offset + 3 < length) out[offset + 3] = word >>> 24;
  }
  return out;
}
