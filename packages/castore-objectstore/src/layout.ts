import type { B3Digest } from "castore-core";

/**
 * Object keys in snix castore's bucket layout, so one bucket or directory can be shared with snix:
 *
 * - `PREFIX/blobs/b3/HH/HEX`: the blob's serialized `StatBlobResponse` (its ordered chunk list),
 *   zero bytes for a blob stored as one piece;
 * - `PREFIX/chunks/b3/HH/HEX`: a chunk's bytes, zstd-compressed; a one-piece blob's only chunk is
 *   the blob itself, under the blob's digest.
 *
 * HEX is the lowercase hex of the 32-byte digest and HH the hex of its first two bytes (four
 * characters). snix's doc comment speaks of sharding "after the second character", but its code
 * (`HEXLOWER.encode(&digest[..2])`) takes two bytes, and the code is what wrote existing buckets.
 */

/** `blobs/b3/HH/HEX` under `prefix` ("" or a path without leading or trailing slash). */
export function blobKey(prefix: string, digest: B3Digest): string {
  return keyIn(prefix, "blobs", digest);
}

/** `chunks/b3/HH/HEX` under `prefix`. */
export function chunkKey(prefix: string, digest: B3Digest): string {
  return keyIn(prefix, "chunks", digest);
}

function keyIn(prefix: string, kind: "blobs" | "chunks", digest: B3Digest): string {
  const hex = digest.toHex();
  const key = `${kind}/b3/${hex.slice(0, 4)}/${hex}`;
  return prefix === "" ? key : `${prefix}/${key}`;
}

/**
 * Normalises a key prefix: no leading, trailing or doubled slashes, no "." or ".." segments (a
 * file store must never step outside its directory, and snix's object_store paths have neither).
 */
export function normalizePrefix(raw: string): string {
  const segments = raw.split("/").filter((segment) => segment !== "");
  for (const segment of segments) {
    if (segment === "." || segment === "..") throw new Error(`the key prefix must not contain "${segment}"`);
  }
  return segments.join("/");
}
