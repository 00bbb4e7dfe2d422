// The blobs the child processes write, so the test can regenerate them to check what survived.

/** Average chunk size of the child's store: small, so most blobs span many chunks. */
export const CHUNK_SIZE = 4096;

/** Length of blob i: every fourth one fits a chunk (stored inline), the others span 2 to 16 chunks. */
export function blobSize(i) {
  return i % 4 === 0 ? 3000 : CHUNK_SIZE * (2 + ((i * 7) % 15)) + ((i * 13) % CHUNK_SIZE);
}

/** Deterministic bytes of blob i of run `seed` (xorshift32). */
export function blobData(seed, i) {
  const out = new Uint8Array(blobSize(i));
  let state = (seed * 1_000_003 + i * 7919 + 1) >>> 0 || 1;
  for (let k = 0; k < out.length; k++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[k] = state & 0xff;
  }
  return out;
}
