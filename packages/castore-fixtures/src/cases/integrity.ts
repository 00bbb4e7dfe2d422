import { type BlobReader, isCastoreError } from "castore-core";
import { ConformanceFailure, check, checkBytes, checkEqual, firstMismatch } from "../assertions.js";
import { type ConformanceCase, type ConformanceContext, requires } from "../capabilities.js";
import { BLOB_A, BLOB_B, BLOB_C, type Fixture, HELLOWORLD } from "../fixtures.js";
import { put, readBlob } from "../io.js";

/**
 * Reads from the reader's position until the end or an error, checking every byte handed out
 * against the fixture. Returns how the read ended.
 */
async function readChecked(reader: BlobReader, fixture: Fixture, maxBytes?: number): Promise<"end" | "integrity"> {
  for (;;) {
    const at = reader.position;
    let chunk: Uint8Array | undefined;
    try {
      chunk = await reader.read(maxBytes === undefined ? undefined : { maxBytes });
    } catch (error) {
      if (isCastoreError(error, "Integrity")) return "integrity";
      throw new ConformanceFailure(
        `reading a corrupted blob failed with ${String(error)} instead of an Integrity error`,
        {
          cause: error,
        },
      );
    }
    if (chunk === undefined) return "end";
    const expected = fixture.data.subarray(at, at + chunk.length);
    const mismatch = firstMismatch(chunk, expected);
    if (mismatch !== -1) {
      throw new ConformanceFailure(
        `a reader of corrupted ${fixture.name} handed out a wrong byte at offset ${at + mismatch}: corrupted bytes must never reach the caller`,
      );
    }
  }
}

/** Stores and corrupts `fixture`, then opens a reader (an Integrity error from openRead is fine too). */
async function openCorrupted(
  { service, capabilities }: ConformanceContext,
  fixture: Fixture,
): Promise<BlobReader | "integrity"> {
  await put(service, fixture.data);
  await capabilities.corrupt!(service, fixture.digest);
  try {
    const reader = await service.openRead(fixture.digest);
    check(
      reader !== undefined,
      `openRead(${fixture.name}) returned undefined after corruption; expected a reader or an Integrity error`,
    );
    return reader;
  } catch (error) {
    if (isCastoreError(error, "Integrity")) return "integrity";
    throw error;
  }
}

function corruptedFullRead(fixture: Fixture, maxBytes?: number): ConformanceCase {
  return {
    id: `integrity/full-read-${fixture.name.toLowerCase()}${maxBytes ? `-max-${maxBytes}` : ""}`,
    title: `reading corrupted ${fixture.name} to the end fails with Integrity and never yields a wrong byte${maxBytes ? ` (maxBytes ${maxBytes})` : ""}`,
    skipReason: requires("corrupt"),
    async run(context) {
      const reader = await openCorrupted(context, fixture);
      if (reader === "integrity") return;
      try {
        const ending = await readChecked(reader, fixture, maxBytes);
        checkEqual(ending, "integrity", `how a full read of corrupted ${fixture.name} ended`);
      } finally {
        await reader.close();
      }
    },
  };
}

/** Detection of stored bytes that no longer match their digest (needs the backend's `corrupt` hook). */
export const integrityCases: ConformanceCase[] = [
  corruptedFullRead(HELLOWORLD),
  corruptedFullRead(BLOB_B),
  corruptedFullRead(BLOB_C),
  corruptedFullRead(BLOB_C, 4093),
  {
    id: "integrity/error-is-sticky",
    title: "after an Integrity error, later reads fail too and never report a clean end",
    skipReason: requires("corrupt"),
    async run(context) {
      const reader = await openCorrupted(context, BLOB_B);
      if (reader === "integrity") return;
      try {
        checkEqual(await readChecked(reader, BLOB_B), "integrity", "how a full read of corrupted BLOB_B ended");
        for (let i = 0; i < 3; i++) {
          let result: Uint8Array | undefined;
          try {
            result = await reader.read();
          } catch (error) {
            check(
              isCastoreError(error),
              `read() after an Integrity error failed with a non-castore error: ${String(error)}`,
            );
            continue;
          }
          throw new ConformanceFailure(
            `read() number ${i + 1} after an Integrity error returned ${result === undefined ? "a clean end" : `${result.length} bytes`}`,
          );
        }
      } finally {
        await reader.close();
      }
    },
  },
  {
    id: "integrity/ranged-reads",
    title: "ranged reads of a corrupted blob never yield a wrong byte",
    skipReason: requires("corrupt"),
    async run(context) {
      const { service } = context;
      const reader = await openCorrupted(context, BLOB_C);
      if (reader === "integrity") return;
      await reader.close();
      // Read a window from several places; each window is either right or fails with Integrity.
      for (const start of [0, 1, 65_536, 1_000_003, 2_621_441, BLOB_C.data.length - 10]) {
        const windowed = await service.openRead(BLOB_C.digest).catch((error: unknown) => {
          if (isCastoreError(error, "Integrity")) return undefined;
          throw error;
        });
        if (windowed === undefined) continue;
        try {
          // A forward-only reader skips by reading: it may meet the damage while seeking.
          const moved = await windowed.seek(start).then(
            () => true,
            (error: unknown) => {
              if (isCastoreError(error, "Integrity")) return false;
              throw error;
            },
          );
          if (moved) await readChecked(windowed, BLOB_C, 100_000);
        } finally {
          await windowed.close();
        }
      }
    },
  },
  {
    id: "integrity/others-unaffected",
    title: "corrupting one blob leaves the others readable",
    skipReason: requires("corrupt"),
    async run(context) {
      const { service, capabilities } = context;
      await put(service, BLOB_A.data);
      await put(service, BLOB_C.data);
      await put(service, BLOB_B.data);
      await capabilities.corrupt!(service, BLOB_B.digest);
      checkBytes(await readBlob(service, BLOB_A.digest), BLOB_A.data, "BLOB_A read after corrupting BLOB_B");
      checkBytes(await readBlob(service, BLOB_C.digest), BLOB_C.data, "BLOB_C read after corrupting BLOB_B");
    },
  },
];
