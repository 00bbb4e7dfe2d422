import { readAll } from "./bytes.js";
import type { B3Digest } from "./digest.js";
import { type DigestLike, toDigest } from "./service-base.js";
import type { SignalOptions } from "./signal.js";
import type { BlobService, BytesInput } from "./types.js";

/** Stores bytes in any accepted shape and returns their digest. On failure nothing is stored. */
export async function putBlob(service: BlobService, data: BytesInput, options?: SignalOptions): Promise<B3Digest> {
  const writer = await service.openWrite(options);
  try {
    await writer.write(data, options);
    return await writer.close(options);
  } catch (error) {
    await writer.abort(error);
    throw error;
  }
}

/** A whole blob in memory (verified), or `undefined` when it is absent. */
export async function getBlob(
  service: BlobService,
  digest: DigestLike,
  options?: SignalOptions & { maxBytes?: number },
): Promise<Uint8Array | undefined> {
  const reader = await service.openRead(toDigest(digest), options);
  if (!reader) return undefined;
  try {
    return await readAll(reader, options);
  } finally {
    await reader.close();
  }
}
