// Throughput of both BLAKE3 implementations, of the FastCDC chunker, and of the chunked write path
// every chunked store shares (BaseBlobWriter's whole-blob hash + ChunkSplitter: cut, copy each byte
// once, hash each chunk), side by side in one run, so each figure is read against the machine's
// hashing speed at that moment. Rounds interleave the cases and keep the best of each, so load from
// other processes hits them alike. Records rows for the `pnpm bench` summary.
// Run with `pnpm bench` at the root (or `pnpm --filter castore-core bench` after a build).

import { createRequire } from "node:module";
import { recordResult } from "../../../scripts/bench-results.mjs";
import { ChunkSplitter, chunkSizesFor, FastCdcChunker } from "../dist/backend.js";
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

// The same bytes cut as a gRPC stream delivers them: 16 KiB HTTP/2 frames less a 5-byte message
// header, so no piece starts on a BLAKE3 chunk boundary.
const FRAME = 16 * 1024 - 5;
const frames = [];
for (let offset = 0; offset < source.length; offset += FRAME) frames.push(source.subarray(offset, offset + FRAME));

/** GB/s pushing about TOTAL bytes through `consume`, piece after piece of `list` (cycled), once. */
function rate({ start, consume, end, list = pieces }) {
  const state = start();
  const began = process.hrtime.bigint();
  let done = 0;
  for (let index = 0; done < TOTAL; index++) {
    const piece = list[index % list.length];
    consume(state, piece);
    done += piece.length;
  }
  end(state);
  return done / (Number(process.hrtime.bigint() - began) / 1e9) / 1e9;
}

const hashing = (impl) => ({
  start: () => impl.createHasher(),
  consume: (hasher, piece) => hasher.update(piece),
  end: (hasher) => hasher.digest(),
});
// The native binding without castore's staging (see src/hashing/staged-hasher.ts), for comparison.
const unstagedNative = () => {
  try {
    const { Blake3Hasher } = createRequire(import.meta.url)("@napi-rs/blake-hash");
    const createHasher = () => {
      const hasher = new Blake3Hasher();
      return { update: (data) => hasher.update(data), digest: () => hasher.digestBuffer() };
    };
    return { name: "native", createHasher };
  } catch {
    return undefined;
  }
};
let chunks = 0;
const chunking = (implementation) => ({
  start: () => new FastCdcChunker({ ...chunkSizesFor(), implementation }),
  consume: (chunker, piece) => {
    chunks += chunker.update(piece).length;
  },
  end: (chunker) => {
    chunks += chunker.finish().length;
  },
});
// What a chunked store's writer does per written piece, before its own storing: BaseBlobWriter
// hashes the piece into the blob digest, ChunkSplitter cuts it, copies it and hashes each finished
// chunk. The chunks are dropped here (a store would keep or write them).
const writePath = (impl) => ({
  start: () => ({ blob: impl.createHasher(), splitter: new ChunkSplitter(chunkSizesFor(), impl) }),
  consume: (state, piece) => {
    state.splitter.push(piece);
    state.blob.update(piece);
  },
  end: (state) => {
    state.splitter.finish();
    state.blob.digest();
  },
});

// The same work without FastCDC: each piece copied and hashed as if it were a chunk, and the blob
// hashed. The difference to writePath is what cutting costs the write path.
const uncutPath = (impl) => ({
  start: () => impl.createHasher(),
  consume: (blob, piece) => {
    const hasher = impl.createHasher();
    hasher.update(new Uint8Array(piece));
    hasher.digest();
    blob.update(piece);
  },
  end: (blob) => blob.digest(),
});

const native = loadNativeBlake3();
const wasm = await loadNodeWasmBlake3();
const reference = native ?? wasm;
const cases = [
  { name: `BLAKE3 ${reference.name}${native ? " (@napi-rs/blake-hash)" : ""}`, run: hashing(reference) },
  ...(native ? [{ name: "BLAKE3 wasm (blake3-wasm 2.1.5)", run: hashing(wasm) }] : []),
  { name: "FastCDC 2020 cut points, wasm gear hash (snix sizes)", run: chunking("wasm"), counts: true },
  { name: "FastCDC 2020 cut points, JavaScript gear hash", run: chunking("js") },
  {
    name: `chunked write path: cut + copy + hash chunks + hash blob (${reference.name} BLAKE3)`,
    run: writePath(reference),
  },
  { name: "the same without cutting: copy + hash 1 MiB pieces + hash blob", run: uncutPath(reference) },
  ...(native
    ? [
        {
          name: "BLAKE3 native in gRPC-framed pieces (16 KiB less 5 bytes)",
          run: { ...hashing(native), list: frames },
        },
        {
          name: "the same pieces, the binding unstaged",
          run: { ...hashing(unstagedNative()), list: frames },
        },
      ]
    : []),
];
const best = cases.map(() => 0);
let cdcChunks = 0;
for (let round = 0; round < ROUNDS; round++) {
  cases.forEach((entry, index) => {
    chunks = 0;
    best[index] = Math.max(best[index], rate(entry.run));
    if (entry.counts) cdcChunks = chunks;
  });
}
const [hashRate, , cdcRate, , pathRate, uncutRate, framedRate, unstagedRate] = native
  ? best
  : [best[0], undefined, ...best.slice(1)];

console.log(
  `${TOTAL / 2 ** 20} MiB in ${PIECE / 2 ** 10} KiB pieces, best of ${ROUNDS} (node ${process.version}); ` +
    `FastCDC min/avg/max 131072/262144/524288, mean chunk ${Math.round(TOTAL / cdcChunks)} bytes. ` +
    "Shared machine: figures are noisy, compare rows of one run.",
);
console.table(
  cases.map((entry, index) => ({
    measured: entry.name,
    "GB/s": best[index].toFixed(2),
    [`vs ${reference.name} BLAKE3`]: (best[index] / hashRate).toFixed(2),
  })),
);
// Everything runs in series on one thread: 1/path ≈ 1/hash (blob) + 1/hash (chunks) + 1/cut + copy.
const seconds = (r) => (1 / r).toFixed(3);
const cutShare = Math.round(100 * (1 - pathRate / uncutRate));
console.log(
  `per GB: hash ${seconds(hashRate)} s, cut ${seconds(cdcRate)} s, write path ${seconds(pathRate)} s, ` +
    `the same without cutting ${seconds(uncutRate)} s (cutting is ${cutShare}% of the path's time)`,
);

recordResult({
  path: "FastCDC chunking (wasm gear hash)",
  value: cdcRate,
  limit: 1,
  limitName: "goal 1 GB/s",
  unit: "GB/s",
  goal: 1,
  note: `${reference.name} BLAKE3 ${hashRate.toFixed(2)} GB/s in the same run`,
});
recordResult({
  path: "chunked write path (cut + copy + hash chunks + hash blob) vs the same without cutting",
  value: pathRate,
  limit: uncutRate,
  limitName: "copy + hash in 1 MiB pieces + hash blob",
  unit: "GB/s",
  note: `in series on one thread, cutting ${cutShare}% of its time; ${reference.name} BLAKE3 alone ${hashRate.toFixed(2)} GB/s`,
});
if (framedRate !== undefined) {
  recordResult({
    path: "BLAKE3 over gRPC-framed pieces (16 KiB less 5 bytes), as verified reads hash them",
    value: framedRate,
    limit: hashRate,
    limitName: "native BLAKE3 in 1 MiB pieces",
    unit: "GB/s",
    goal: 0.8,
    note: `the binding unstaged: ${unstagedRate.toFixed(2)} GB/s`,
  });
}
