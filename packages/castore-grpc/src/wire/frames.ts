import { WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * gRPC's message framing ("length-prefixed message": 1 flag byte, 4-byte big-endian length, the
 * protobuf bytes) written and parsed by hand for the blob streams.
 *
 * A BlobChunk is one protobuf field: tag 0x0a (field 1, length-delimited), a varint length, the
 * bytes. So the frame of a chunk is a header of at most 11 bytes followed by the blob bytes
 * themselves, and neither sender nor receiver ever needs to copy blob bytes. Connect's generic
 * path serialises into a growing buffer, slices it and copies it again into an envelope (three
 * copies per message), which is what caps its throughput (see bench/).
 */

/** Flag byte of an uncompressed message. */
const FLAG_NONE = 0;
/** Flag bit of a compressed message. castore never negotiates compression, so it is refused. */
const FLAG_COMPRESSED = 1;
const ENVELOPE_HEADER_BYTES = 5;
/** Field 1 (BlobChunk.data), length-delimited: the tag byte 0x0a. */
const DATA_FIELD_TAG = (1 << 3) | WireType.LengthDelimited;
/** Largest message a frame can describe (its length field is 32 bits). */
const MAX_MESSAGE_BYTES = 0xffff_ffff;

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

/**
 * The bytes that go on the wire before `dataLength` blob bytes to make them one framed BlobChunk
 * message. Send the header, then the data buffer itself.
 */
export function blobChunkFrameHeader(dataLength: number): Uint8Array {
  if (dataLength === 0) return new Uint8Array(ENVELOPE_HEADER_BYTES); // proto3 omits empty bytes: an empty message
  const messageLength = 1 + varintSize(dataLength) + dataLength;
  if (messageLength > MAX_MESSAGE_BYTES) throw new RangeError(`a message of ${messageLength} bytes cannot be framed`);
  const header = new Uint8Array(ENVELOPE_HEADER_BYTES + 1 + varintSize(dataLength));
  new DataView(header.buffer).setUint32(1, messageLength);
  header[ENVELOPE_HEADER_BYTES] = DATA_FIELD_TAG;
  let offset = ENVELOPE_HEADER_BYTES + 1;
  let value = dataLength;
  while (value >= 0x80) {
    header[offset++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  header[offset] = value;
  return header;
}

/** One whole framed message (for the small messages: requests, responses). */
export function encodeFrame(message: Uint8Array): Uint8Array {
  const frame = new Uint8Array(ENVELOPE_HEADER_BYTES + message.length);
  new DataView(frame.buffer).setUint32(1, message.length);
  frame.set(message, ENVELOPE_HEADER_BYTES);
  return frame;
}

function tooLarge(length: number, limit: number): ConnectError {
  return new ConnectError(
    `message of ${length} bytes is larger than the limit of ${limit} bytes`,
    Code.ResourceExhausted,
  );
}

function checkFlags(flags: number): void {
  if (flags === FLAG_NONE) return;
  if (flags === FLAG_COMPRESSED) {
    throw new ConnectError("received a compressed message, but no compression was negotiated", Code.Internal);
  }
  throw new ConnectError(`protocol error: invalid message flags 0x${flags.toString(16)}`, Code.Internal);
}

type DecoderState =
  | "envelope" // reading the 5-byte frame header
  | "tag" // reading a field tag (a varint) inside a message
  | "length" // reading the length varint of a length-delimited field
  | "data" // passing BlobChunk.data through
  | "skip" // skipping the value of a field BlobChunk does not have
  | "skip-varint"; // skipping a varint value

/**
 * Parses a stream of framed BlobChunk messages into the blob bytes they carry, as views into the
 * received buffers (no copy). Feed it the received byte chunks in order with `push`; call `end`
 * when the stream ends. Unknown fields are skipped, as protobuf requires; a compressed or
 * oversized message, a truncated stream, or malformed protobuf throw a ConnectError (mapped to a
 * gRPC status by the caller).
 */
export class BlobChunkFrameDecoder {
  readonly #maxMessageBytes: number;
  #state: DecoderState = "envelope";
  /** Bytes of the envelope header or of a varint collected so far (they may straddle chunks). */
  readonly #scratch = new Uint8Array(10);
  #scratchLength = 0;
  /** Bytes of the current message not consumed yet. */
  #messageLeft = 0;
  /** Bytes of the current field value (data or skipped) not consumed yet. */
  #valueLeft = 0;
  #pendingField = 0;
  #sawData = false;

  /** `maxMessageBytes`: larger messages are RESOURCE_EXHAUSTED errors, refused before they are read. */
  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** The blob bytes in `chunk` (possibly none), as subarrays of it. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.pushInto(chunk, out);
    return out;
  }

  /** Appends the blob bytes in `chunk` (possibly none) to `out`, as views of it (the chunk itself when it is all data). */
  pushInto(chunk: Uint8Array, out: Uint8Array[]): void {
    if (chunk.length === 0) return;
    if (this.#state === "data" && chunk.length <= this.#valueLeft) {
      // The common case, a DATA frame inside one message's data: no view to make.
      out.push(chunk);
      this.#consumeValue(chunk.length);
      return;
    }
    let offset = 0;
    while (offset < chunk.length) {
      switch (this.#state) {
        case "envelope": {
          const take = Math.min(ENVELOPE_HEADER_BYTES - this.#scratchLength, chunk.length - offset);
          this.#scratch.set(chunk.subarray(offset, offset + take), this.#scratchLength);
          this.#scratchLength += take;
          offset += take;
          if (this.#scratchLength === ENVELOPE_HEADER_BYTES) this.#startMessage();
          break;
        }
        case "data": {
          const take = Math.min(this.#valueLeft, chunk.length - offset);
          out.push(chunk.subarray(offset, offset + take));
          offset += take;
          this.#consumeValue(take);
          break;
        }
        case "skip": {
          const take = Math.min(this.#valueLeft, chunk.length - offset);
          offset += take;
          this.#consumeValue(take);
          break;
        }
        default: {
          // A varint: tag, length, or a skipped varint value.
          const byte = chunk[offset++] as number;
          this.#messageLeft--;
          if (this.#scratchLength === this.#scratch.length) throw malformed("varint longer than 10 bytes");
          this.#scratch[this.#scratchLength++] = byte;
          if (byte & 0x80) {
            if (this.#messageLeft === 0) throw malformed("message ends inside a varint");
            break;
          }
          const varintLength = this.#scratchLength;
          this.#scratchLength = 0;
          this.#varintDone(readVarint(this.#scratch, varintLength));
          if ((this.#state === "length" || this.#state === "skip-varint") && this.#messageLeft === 0) {
            throw malformed("message ends after a field tag");
          }
        }
      }
    }
  }

  /** Throws unless the stream ended at a message boundary. */
  end(): void {
    if (this.#state !== "envelope" || this.#scratchLength !== 0) {
      throw new ConnectError("protocol error: the stream ended inside a message", Code.Internal);
    }
  }

  #startMessage(): void {
    const header = this.#scratch;
    checkFlags(header[0] as number);
    const length = new DataView(header.buffer, 0, ENVELOPE_HEADER_BYTES).getUint32(1);
    if (length > this.#maxMessageBytes) throw tooLarge(length, this.#maxMessageBytes);
    this.#scratchLength = 0;
    this.#messageLeft = length;
    this.#sawData = false;
    this.#state = length === 0 ? "envelope" : "tag";
  }

  #varintDone(value: number): void {
    switch (this.#state) {
      case "tag": {
        const field = Math.floor(value / 8);
        const wireType = value % 8;
        if (field === 0) throw malformed("field number 0");
        if (field === 1) {
          if (wireType !== WireType.LengthDelimited) throw malformed(`BlobChunk.data has wire type ${wireType}`);
          // A repeated singular field means "last one wins"; data already passed on cannot be taken
          // back, so such a message is refused rather than misread. No encoder produces it.
          if (this.#sawData) throw malformed("BlobChunk.data appears twice in one message");
          this.#sawData = true;
        }
        this.#pendingField = field;
        switch (wireType) {
          case WireType.Varint:
            this.#state = "skip-varint";
            break;
          case WireType.Bit64:
            this.#startValue(8, "skip");
            break;
          case WireType.LengthDelimited:
            this.#state = "length";
            break;
          case WireType.Bit32:
            this.#startValue(4, "skip");
            break;
          default:
            throw malformed(`unsupported wire type ${wireType}`);
        }
        break;
      }
      case "length":
        this.#startValue(value, this.#pendingField === 1 ? "data" : "skip");
        break;
      default: // skip-varint
        this.#fieldDone();
    }
  }

  #startValue(length: number, state: "data" | "skip"): void {
    if (length > this.#messageLeft) throw malformed("a field is longer than its message");
    this.#valueLeft = length;
    this.#state = state;
    if (length === 0) this.#fieldDone();
  }

  #consumeValue(count: number): void {
    this.#valueLeft -= count;
    this.#messageLeft -= count;
    if (this.#valueLeft === 0) this.#fieldDone();
  }

  #fieldDone(): void {
    this.#state = this.#messageLeft === 0 ? "envelope" : "tag";
  }
}

function readVarint(bytes: Uint8Array, length: number): number {
  let value = 0;
  let factor = 1;
  for (let i = 0; i < length; i++) {
    value += ((bytes[i] as number) & 0x7f) * factor;
    factor *= 0x80;
  }
  if (!Number.isSafeInteger(value)) throw malformed("varint out of range");
  return value;
}

function malformed(what: string): ConnectError {
  return new ConnectError(`protocol error: malformed BlobChunk message (${what})`, Code.Internal);
}

/**
 * Collects a small body that holds exactly one framed message (a unary request or response) and
 * returns the message bytes. More than `maxMessageBytes` is a RESOURCE_EXHAUSTED error.
 */
export async function readSingleFrame(body: AsyncIterable<Uint8Array>, maxMessageBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > ENVELOPE_HEADER_BYTES + maxMessageBytes) throw tooLarge(total - ENVELOPE_HEADER_BYTES, maxMessageBytes);
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  if (total < ENVELOPE_HEADER_BYTES) {
    throw new ConnectError(
      total === 0 ? "protocol error: missing message" : "protocol error: truncated message",
      total === 0 ? Code.Unimplemented : Code.Internal,
    );
  }
  checkFlags(bytes[0] as number);
  const length = new DataView(bytes.buffer).getUint32(1);
  if (length > maxMessageBytes) throw tooLarge(length, maxMessageBytes);
  if (total < ENVELOPE_HEADER_BYTES + length)
    throw new ConnectError("protocol error: truncated message", Code.Internal);
  if (total > ENVELOPE_HEADER_BYTES + length) {
    // A cardinality violation, which gRPC answers with UNIMPLEMENTED (like a missing message).
    throw new ConnectError("protocol error: more than one message where one was expected", Code.Unimplemented);
  }
  return bytes.subarray(ENVELOPE_HEADER_BYTES);
}
