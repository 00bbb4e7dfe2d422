import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { B3Digest, IntegrityError, isIntegrity } from "castore-core";

/** One entry of a blob's chunk list. */
export interface StoredChunk {
  readonly digest: B3Digest;
  readonly size: number;
}

// Field numbers of tvix/snix castore's protobuf messages (castore.proto), which is what the blob
// objects hold: StatBlobResponse { repeated ChunkMeta chunks = 2; bytes bao = 3; }
// ChunkMeta { bytes digest = 1; uint64 size = 2; }.
const STAT_CHUNKS = 2;
const CHUNK_DIGEST = 1;
const CHUNK_SIZE = 2;

/**
 * Serialises a chunk list as a `StatBlobResponse`, byte for byte as prost writes it: fields in
 * number order, nothing for empty fields, so an empty list (a one-piece blob) is zero bytes.
 */
export function encodeChunkList(chunks: readonly StoredChunk[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const chunk of chunks) {
    writer.tag(STAT_CHUNKS, WireType.LengthDelimited).fork();
    writer.tag(CHUNK_DIGEST, WireType.LengthDelimited).bytes(chunk.digest.unsafeBytes);
    // prost omits a zero uint64; a stored chunk is never empty, so this always writes.
    if (chunk.size !== 0) writer.tag(CHUNK_SIZE, WireType.Varint).uint64(chunk.size);
    writer.join();
  }
  return writer.finish();
}

/**
 * Parses a blob object. Unknown fields (and `bao`, reserved and never written upstream) are
 * skipped, as protobuf readers must. A list that cannot be a chunk list (malformed protobuf, a
 * digest that is not 32 bytes, an empty or absurdly large chunk) means the object was damaged:
 * an `Integrity` error naming `where`.
 */
export function decodeChunkList(bytes: Uint8Array, where: string): StoredChunk[] {
  try {
    const chunks: StoredChunk[] = [];
    const reader = new BinaryReader(bytes);
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === STAT_CHUNKS && wireType === WireType.LengthDelimited) {
        chunks.push(decodeChunkMeta(reader.bytes()));
      } else {
        reader.skip(wireType, field);
      }
    }
    return chunks;
  } catch (error) {
    if (isIntegrity(error)) throw new IntegrityError(`${where}: ${error.message}`);
    throw new IntegrityError(`${where} is not a valid StatBlobResponse`, { cause: error });
  }
}

function decodeChunkMeta(bytes: Uint8Array): StoredChunk {
  const reader = new BinaryReader(bytes);
  let digest: Uint8Array = new Uint8Array(0);
  let size = 0n;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === CHUNK_DIGEST && wireType === WireType.LengthDelimited) digest = reader.bytes();
    else if (field === CHUNK_SIZE && wireType === WireType.Varint) size = BigInt(reader.uint64());
    else reader.skip(wireType, field);
  }
  if (digest.length !== B3Digest.LENGTH) {
    throw new IntegrityError(`a chunk digest is ${digest.length} bytes, expected ${B3Digest.LENGTH}`);
  }
  if (size === 0n || size > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new IntegrityError(`a chunk has an impossible size (${size})`);
  }
  return { digest: B3Digest.fromBytes(digest), size: Number(size) };
}
