import { randomFillSync } from "node:crypto";
import { promisify } from "node:util";
import * as zlib from "node:zlib";

const data = randomFillSync(Buffer.alloc(64 << 20));
const chunks = [];
for (let o = 0; o < data.length; o += 262144) chunks.push(data.subarray(o, o + 262144));
const cpu = async (name, f) => {
  const c = process.cpuUsage();
  const t = performance.now();
  await f();
  const u = process.cpuUsage(c);
  console.log(
    name,
    "cpu s/GiB",
    (((u.user + u.system) / 1e6) * 16).toFixed(2),
    "wall s/GiB",
    (((performance.now() - t) / 1000) * 16).toFixed(2),
  );
};
const za = promisify(zlib.zstdCompress);
const level = { [zlib.constants.ZSTD_c_compressionLevel]: 3 };
await cpu("sync", () => {
  for (const c of chunks) zlib.zstdCompressSync(c, { params: level });
});
await cpu("async default", async () => {
  for (const c of chunks) await za(c, { params: level });
});
await cpu("async chunkSize 1MiB", async () => {
  for (const c of chunks) await za(c, { params: level, chunkSize: 1 << 20 });
});
await cpu("async chunkSize 1MiB par4", async () => {
  let i = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (i < chunks.length) await za(chunks[i++], { params: level, chunkSize: 1 << 20 });
    }),
  );
});
const comp = chunks.map((c) => zlib.zstdCompressSync(c, { params: level }));
const zd = promisify(zlib.zstdDecompress);
await cpu("dsync", () => {
  for (const c of comp) zlib.zstdDecompressSync(c);
});
await cpu("dasync default", async () => {
  for (const c of comp) await zd(c, { maxOutputLength: 524288 });
});
await cpu("dasync chunk 1MiB", async () => {
  for (const c of comp) await zd(c, { maxOutputLength: 524288, chunkSize: 1 << 20 });
});
