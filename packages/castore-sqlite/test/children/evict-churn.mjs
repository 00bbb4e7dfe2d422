// A separate process that keeps a bounded store busy evicting, for the crash test. It runs the
// built package (dist), as an application would.
//
//   node evict-churn.mjs <file> <seed> <maxSize> <avgChunkSize>
//
// Writes blob i = blobData(seed, i) (see blob-plan.mjs) for i = 0, 1, … until killed, reading the
// blob before it after each one; the store is small, so nearly every write makes eviction run.
// After each close returns it prints "DONE <i> <digest hex>".
import { openWithHooks } from "../../dist/testing.js";
import { blobData } from "./blob-plan.mjs";

const [file, seedText, maxSizeText, avgText] = process.argv.slice(2);
const seed = Number(seedText);
// Chunk files even for these small chunks: the crash test covers their deletion.
const service = await openWithHooks(
  { path: file, maxSize: Number(maxSizeText), avgChunkSize: Number(avgText), synchronous: "normal" },
  { chunkFileMinBytes: 0 },
);
let previous;
for (let i = 0; ; i++) {
  const writer = await service.openWrite();
  await writer.write(blobData(seed, i));
  const digest = await writer.close();
  process.stdout.write(`DONE ${i} ${digest.toHex()}\n`);
  if (previous) {
    const reader = await service.openRead(previous);
    if (reader) {
      for await (const _ of reader);
    }
  }
  previous = digest;
}
