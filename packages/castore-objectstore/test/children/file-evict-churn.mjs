// A separate process that keeps a bounded objectstore+file directory busy evicting, for the crash
// test. It runs the built package (dist), as an application would.
//
//   node file-evict-churn.mjs <directory> <seed> <maxSize> <avgChunkSize>
//
// Writes blob i (pseudo-random, 20 to 120 KiB, from seed and i) for i = 0, 1, … until killed,
// reading the blob before it after each one; the store is small, so nearly every write makes
// eviction run. After each close returns it prints "DONE <i> <digest hex>".
import { pseudoRandomBytes } from "castore-fixtures";
import { objectStoreFileBackend } from "../../dist/index.js";

const [directory, seedText, maxSize, avgChunkSize] = process.argv.slice(2);
const seed = Number(seedText);
const service = await objectStoreFileBackend.open(
  new URL(`objectstore+file://${directory}?max_size=${maxSize}&avg_chunk_size=${avgChunkSize}`),
);
let previous;
for (let i = 0; ; i++) {
  const writer = await service.openWrite();
  await writer.write(pseudoRandomBytes(20 * 1024 + ((i * 7919) % (100 * 1024)), seed * 100_000 + i));
  const digest = await writer.close();
  process.stdout.write(`DONE ${i} ${digest.toHex()}\n`);
  if (previous) {
    const reader = await service.openRead(previous);
    if (reader) {
      for await (const _ of reader);
      await reader.close();
    }
  }
  previous = digest;
}
