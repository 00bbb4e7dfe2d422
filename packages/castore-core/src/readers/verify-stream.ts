import type { B3Digest } from "../digest.js";
import { IntegrityError } from "../errors.js";
import { createStreamHasher } from "../hashing/hash.js";

/**
 * Passes a blob's chunks through while hashing them; when the source ends, compares the hash with
 * `digest` and throws an `Integrity` error instead of ending cleanly if they differ. Consumers that
 * read to the end therefore never take a corrupted blob for a complete one.
 */
export async function* verifyStream(source: AsyncIterable<Uint8Array>, digest: B3Digest): AsyncGenerator<Uint8Array> {
  const hasher = await createStreamHasher();
  let size = 0;
  let finished = false;
  try {
    for await (const chunk of source) {
      const room = hasher.update(chunk);
      if (room) await room;
      size += chunk.length;
      yield chunk;
    }
    finished = true;
    if (!digest.equals(await hasher.digest())) {
      throw new IntegrityError(`blob ${digest} is corrupt: the ${size} bytes received do not hash to its digest`);
    }
  } finally {
    if (!finished) hasher.dispose();
  }
}
