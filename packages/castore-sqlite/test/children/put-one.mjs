// A separate process that puts one chunked blob into a durable store (synchronous: full), for a test
// to watch its system calls.
//
//   node put-one.mjs <file> <bytes>
//
// Prints the digest once the writer's close returned, then closes the store and exits.
import { putBlob } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { openWithHooks } from "../../dist/testing.js";

const [file, bytes] = process.argv.slice(2);
// Small chunks, in packs too (see CHUNK_FILE_MIN_BYTES), and small packs: several packs, quickly.
const service = await openWithHooks(
  { path: file, avgChunkSize: 4096, synchronous: "full" },
  { chunkFileMinBytes: 0, packBytes: 32 * 1024 },
);
const digest = await putBlob(service, pseudoRandomBytes(Number(bytes), 77));
process.stdout.write(`${digest}\n`);
await service.close();
