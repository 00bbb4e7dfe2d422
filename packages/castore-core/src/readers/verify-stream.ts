import type { B3Digest } from "../digest.js";
import { IntegrityError } from "../errors.js";
import { createBlake3Hasher } from "../hashing/hash.js";

/**
 * Passes a blob's chunks through while hashing them; when the source ends, compares the hash with
 * `digest` and throws an `Integrity` error instead of ending cleanly if they differ. Consumers that
 * read to the end therefore never take a corrupted blob for a complete one.
 */
export async function* verifyStream(source: AsyncIterable<Uint8Array>, digest: B3Digest): AsyncGenerator<Uint8Array> {
  const hasher = await createBlake3Hasher();
  let size = 0;
  let finished = false;
  try {
    for await (const chunk of source) {
      hasher.update(chunk);
      size += chunk.length;
      yield chunk;
    }
    finished = true;
    if (!digest.equals(hasher.digest())) {
      throw new IntegrityError(`blob ${digest} is corrupt: the ${size} bytes received do not hash to its digest`);
    }
  } finally {
    if (!finished) hasher.dispose();
  }
}
