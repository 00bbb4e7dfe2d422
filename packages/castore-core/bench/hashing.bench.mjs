// Throughput of both BLAKE3 implementations and of the FastCDC chunker, side by side, in one run
// (so the chunker's figure is read against the machine's hashing speed at that moment).
// Run with `pnpm bench` at the root (or `pnpm --filter castore-core bench` after a build).

import { chunkSizesFor, FastCdcChunker } from "../dist/backend.js";
import { loadNativeBlake3, loadNodeWasmBlake3 } from "../dist/hashing/hasher-node.js";

const TOTAL = 512 * 1024 * 1024;
const PIECE = 1024 * 1024;
const ROUNDS = 3;

// 64 MiB of pseudo-random bytes (xorshift32), fed 1 MiB at a time and cycled: content-defined
// chunking needs data without structure, or it would only ever cut at the maximum size.
const source = new Uint8Array(64 * 1024 * 1024);
let x = 0x12345678;
for (let i = 0; i < source.length; i++) {
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  x >>>= 0;
  source[i] = x & 0xff;
}
const pieces = [];
for (let offset = 0; offset < source.length; offset += PIECE) pieces.push(source.subarray(offset, offset + PIECE));

/** Best of ROUNDS: GB/s pushing TOTAL bytes through `consume` in PIECE-sized steps. */
function measure(start, consume, end) {
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const state = start();
    const began = process.hrtime.bigint();
    for (let done = 0; done < TOTAL; done += PIECE) consume(state, pieces[(done / PIECE) % pieces.length]);
    end(state);
    const seconds = Number(process.hrtime.bigint() - began) / 1e9;
    best = Math.max(best, TOTAL / seconds / 1e9);
  }
  return best;
}

const hashing = (impl) =>
  measure(
    () => impl.createHasher(),
    (hasher, piece) => hasher.update(piece),
    (hasher) => hasher.digest(),
  );
let chunks = 0;
const chunking = (implementation) =>
  measure(
    () => new FastCdcChunker({ ...chunkSizesFor(), implementation }),
    (chunker, piece) => {
      chunks += chunker.update(piece).length;
    },
    (chunker) => {
      chunks += chunker.finish().length;
    },
  );

const native = loadNativeBlake3();
const wasm = await loadNodeWasmBlake3();
const rows = [];
const reference = native ? hashing(native) : undefined;
const row = (name, rate) =>
  rows.push({
    measured: name,
    "GB/s": rate.toFixed(2),
    "vs native BLAKE3": reference ? (rate / reference).toFixed(2) : "n/a",
  });
if (native) row("BLAKE3 native (@napi-rs/blake-hash)", reference);
row("BLAKE3 wasm (blake3-wasm 2.1.5)", hashing(wasm));
chunks = 0;
row("FastCDC 2020 cut points, wasm gear hash (snix sizes)", chunking("wasm"));
const averageChunk = TOTAL / (chunks / ROUNDS);
row("FastCDC 2020 cut points, JavaScript gear hash", chunking("js"));
console.log(
  `${TOTAL / 2 ** 20} MiB in ${PIECE / 2 ** 10} KiB pieces, best of ${ROUNDS} (node ${process.version}); ` +
    `FastCDC min/avg/max 131072/262144/524288, mean chunk ${Math.round(averageChunk)} bytes. ` +
    "Shared machine: figures are noisy, compare rows of one run.",
);
console.table(rows);
