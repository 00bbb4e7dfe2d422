// Hashing throughput of both BLAKE3 implementations, side by side, in one run.
// Run with `pnpm bench` at the root (or `pnpm --filter castore-core bench` after a build).
import { loadNativeBlake3, loadNodeWasmBlake3 } from "../dist/hashing/hasher-node.js";

const TOTAL = 512 * 1024 * 1024;
const PIECE = 1024 * 1024;
const ROUNDS = 3;

const piece = new Uint8Array(PIECE);
for (let i = 0; i < piece.length; i++) piece[i] = (i * 2654435761) >>> 24;

/** Best of ROUNDS: GB/s hashing TOTAL bytes fed as PIECE-sized updates. */
function measure(impl) {
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const hasher = impl.createHasher();
    const start = process.hrtime.bigint();
    for (let done = 0; done < TOTAL; done += PIECE) hasher.update(piece);
    hasher.digest();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    best = Math.max(best, TOTAL / seconds / 1e9);
  }
  return best;
}

const native = loadNativeBlake3();
const wasm = await loadNodeWasmBlake3();
const rows = [];
const reference = native ? measure(native) : undefined;
if (native)
  rows.push({ implementation: "native (@napi-rs/blake-hash)", "GB/s": reference.toFixed(2), "vs native": "1.00" });
const wasmRate = measure(wasm);
rows.push({
  implementation: "wasm (blake3-wasm 2.1.5)",
  "GB/s": wasmRate.toFixed(2),
  "vs native": reference ? (wasmRate / reference).toFixed(2) : "n/a",
});
console.log(
  `BLAKE3 over ${TOTAL / 2 ** 20} MiB in ${PIECE / 2 ** 10} KiB updates, best of ${ROUNDS} (node ${process.version})`,
);
console.table(rows);
