/** Deterministic, non-repeating bytes (an LCG per seed); the page and the tests generate the same. */
export function patterned(length: number, seed: number): Uint8Array<ArrayBuffer> {
  let state = Math.imul(seed, 2654435761) >>> 0;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}
