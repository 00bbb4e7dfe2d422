// A separate process that streams blobs into a store file, for the crash and two-process tests.
// It runs the built package (dist), as an application would.
//
//   node stream-blobs.mjs <file> <seed> <count> [pauseAt]
//
// Blob i is blobData(seed, i) (see blob-plan.mjs), written in small pieces with awaits between
// them. After each close returns it prints "DONE <i> <digest hex>". With pauseAt, blob pauseAt is
// written half-way, then it prints "MID <i>" and waits for a line on stdin before going on.
// count "inf" writes until killed. It prints "END" after the last blob and closes the store.
import { createInterface } from "node:readline";
import { openWithHooks } from "../../dist/testing.js";
import { blobData, CHUNK_SIZE } from "./blob-plan.mjs";

const [file, seedText, countText, pauseText] = process.argv.slice(2);
const seed = Number(seedText);
const count = countText === "inf" ? Number.POSITIVE_INFINITY : Number(countText);
const pauseAt = pauseText === undefined ? -1 : Number(pauseText);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

// Chunk files even for these small chunks: the crash tests cover them.
const service = await openWithHooks({ path: file, avgChunkSize: CHUNK_SIZE }, { chunkFileMinBytes: 0 });
for (let i = 0; i < count; i++) {
  const data = blobData(seed, i);
  const writer = await service.openWrite();
  const half = Math.floor(data.length / 2);
  for (let offset = 0; offset < data.length; offset += 1000) {
    if (i === pauseAt && offset >= half && offset - 1000 < half) {
      process.stdout.write(`MID ${i}\n`);
      await lines.next();
    }
    await writer.write(data.subarray(offset, offset + 1000));
  }
  const digest = await writer.close();
  // Pipes are written synchronously on Linux: once this returns, the parent can see the line.
  process.stdout.write(`DONE ${i} ${digest.toHex()}\n`);
}
await service.close();
process.stdout.write("END\n");
process.exit(0);
