import { describe, expect, it } from "vitest";
import * as backend from "../src/backend.js";
import * as core from "../src/index.js";

// The root entry is what every user of a store imports; what only backend authors need lives in
// castore-core/backend. These lists change only on purpose (a changeset says what moved where).
const USER_API = [
  "AbortedError",
  "B3Digest",
  "BackendError",
  "BlobServiceRegistry",
  "CastoreError",
  "ClosedError",
  "ErrorCode",
  "IntegrityError",
  "InvalidAddressError",
  "InvalidArgumentError",
  "InvalidDigestError",
  "NotFoundError",
  "TooLargeError",
  "UnavailableError",
  "UnsupportedError",
  "blake3",
  "canListBlobs",
  "canReportStatistics",
  "createBlake3Hasher",
  "defaultRegistry",
  "digestOf",
  "digestWith",
  "fromAddr",
  "fromReadableStream",
  "getBlob",
  "isAborted",
  "isBackend",
  "isCastoreError",
  "isClosed",
  "isIntegrity",
  "isInvalidAddress",
  "isInvalidArgument",
  "isInvalidDigest",
  "isNotFound",
  "isTooLarge",
  "isUnavailable",
  "isUnsupported",
  "openStoreConfig",
  "putBlob",
  "statisticsOf",
  "readAll",
  "ReadBuffers",
  "register",
  "toReadableStream",
];

describe("entry points", () => {
  it("castore-core exports the user API and nothing for implementers", () => {
    expect(Object.keys(core).sort()).toEqual([...USER_API].sort());
  });

  it("castore-core/backend exports the implementer API, none of it also on the root", () => {
    const backendNames = Object.keys(backend);
    expect(backendNames).toEqual(
      expect.arrayContaining(["BaseBlobService", "BaseBlobWriter", "BaseBlobReader", "raceAbort", "SerialQueue"]),
    );
    expect(backendNames.filter((name) => name in core)).toEqual([]);
  });
});
