import { B3Digest } from "castore-core";
import { pseudoRandomBytes } from "./prng.js";

/** A fixture blob: its bytes and its digest. The bytes are shared: never modify them. */
export interface Fixture {
  /** The constant's name, for test titles and messages. */
  readonly name: string;
  readonly data: Uint8Array;
  readonly digest: B3Digest;
}

// The digests are written out literally, not computed by the code they test. Verified once with
// Debian's b3sum on files holding exactly these bytes:
//   b3sum EMPTY HELLOWORLD BLOB_A BLOB_B BLOB_C
// (the files were written from the definitions below; see test/fixtures.test.ts, which recomputes
// them with castore-core's hasher as a second check).

/** The empty blob (0 bytes). */
export const EMPTY: Fixture = fixture(
  "EMPTY",
  new Uint8Array(0),
  "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
);

/** The 12 bytes of "Hello World!" (ASCII). */
export const HELLOWORLD: Fixture = fixture(
  "HELLOWORLD",
  new TextEncoder().encode("Hello World!"),
  "5ca7815adcb484e9a136c11efe69c1d530176d549b5d18d038eb5280b4b3470c",
);

/** The two bytes 0x00 0x01. */
export const BLOB_A: Fixture = fixture(
  "BLOB_A",
  new Uint8Array([0x00, 0x01]),
  "7b7015bb92cf0b318037702a6cdd81dee41224f734684c2c122cd6359cb1ee63",
);

/** The 255 byte values 0..254 repeated 4096 times: 1,044,480 bytes, as in the Rust original. */
export const BLOB_B: Fixture = fixture(
  "BLOB_B",
  repeatingBytes(255, 4096),
  "a82c5154a7a0c262c6fdb929a317585646f8fbcf80326d0a7b8747edaf2d99d2",
);

/** Seed of BLOB_C's generator (the ASCII bytes "cast"). */
export const BLOB_C_SEED = 0x63617374;

/**
 * 5 MiB + 3 bytes of deterministic pseudo-random data (mulberry32, seed {@link BLOB_C_SEED}):
 * incompressible, larger than typical chunk and message sizes, and not a multiple of any of them.
 */
export const BLOB_C: Fixture = fixture(
  "BLOB_C",
  pseudoRandomBytes(5 * 1024 * 1024 + 3, BLOB_C_SEED),
  "3d335e196c56c1ba1c1fefdff2ac4ea4fbc7b1b3ca47b7907978e6f7c57fe570",
);

/** A digest of 32 zero bytes: well-formed, and no known content hashes to it. */
export const DUMMY_DIGEST: B3Digest = B3Digest.fromBytes(new Uint8Array(32));

/** Every fixture blob, smallest first. */
export const FIXTURES: readonly Fixture[] = [EMPTY, HELLOWORLD, BLOB_A, BLOB_B, BLOB_C];

function fixture(name: string, data: Uint8Array, hex: string): Fixture {
  return Object.freeze({ name, data, digest: B3Digest.parse(hex) });
}

function repeatingBytes(period: number, times: number): Uint8Array {
  const out = new Uint8Array(period * times);
  for (let i = 0; i < out.length; i++) out[i] = i % period;
  return out;
}
