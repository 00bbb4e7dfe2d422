import type { BlobReader } from "../types.js";

/**
 * The standard iteration of a reader: chunks from its position to the end. Leaving the loop early
 * (break, throw) closes the reader, like a Node stream, so a network read is cancelled; a loop that
 * ran to the end leaves it open for further seeks. Readers that wrap another reader use this for
 * their `[Symbol.asyncIterator]`.
 */
export async function* iterateReader(reader: BlobReader): AsyncGenerator<Uint8Array> {
  let finished = false;
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk === undefined) {
        finished = true;
        return;
      }
      yield chunk;
    }
  } finally {
    if (!finished) await reader.close();
  }
}
