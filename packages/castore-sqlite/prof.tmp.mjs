import { randomFillSync } from "node:crypto";
import { blake3, ChunkSplitter, chunkSizesFor, FastCdcChunker } from "castore-core";

const MiB = 1 << 20,
  N = 256;
const data = randomFillSync(Buffer.allocUnsafe(N * MiB));
const impl = await blake3();
let t = process.hrtime.bigint();
const c = new FastCdcChunker(chunkSizesFor());
for (let i = 0; i < N; i++) c.update(data.subarray(i * MiB, (i + 1) * MiB));
c.finish();
console.log(
  "cdc",
  c.implementation,
  ((N * MiB) / (Number(process.hrtime.bigint() - t) / 1e9) / 1e9).toFixed(2),
  "GB/s",
);
t = process.hrtime.bigint();
const h = impl.createHasher();
for (let i = 0; i < N; i++) h.update(data.subarray(i * MiB, (i + 1) * MiB));
h.digest();
console.log("blake3", ((N * MiB) / (Number(process.hrtime.bigint() - t) / 1e9) / 1e9).toFixed(2), "GB/s");
t = process.hrtime.bigint();
const sp = new ChunkSplitter(chunkSizesFor(), impl);
let n = 0;
for (let i = 0; i < N; i++) n += sp.push(data.subarray(i * MiB, (i + 1) * MiB)).length;
console.log("splitter", n, ((N * MiB) / (Number(process.hrtime.bigint() - t) / 1e9) / 1e9).toFixed(2), "GB/s");
