export {
  ConformanceFailure,
  check,
  checkBytes,
  checkDigest,
  checkEqual,
  expectCode,
  firstMismatch,
  type Outcome,
  rejectsWith,
  resolves,
  SETTLE_TIMEOUT,
  settled,
  waitsOnTheOutside,
} from "./assertions.js";
export {
  type BlobServiceCapabilities,
  type BlobServiceFactory,
  type BlobServiceUnderTest,
  type ConformanceCase,
  type ConformanceContext,
  refuses,
  requires,
  requiresAll,
} from "./capabilities.js";
export * from "./cases/index.js";
export {
  BLOB_A,
  BLOB_B,
  BLOB_C,
  BLOB_C_SEED,
  DUMMY_DIGEST,
  EMPTY,
  FIXTURES,
  type Fixture,
  HELLOWORLD,
} from "./fixtures.js";
export { openPresent, piecesOf, put, readBlob, readExact, readToEnd, writePieces } from "./io.js";
export { pseudoRandomBytes } from "./prng.js";
export { type CaseResult, type RunConformanceOptions, runCase, runConformance } from "./runner.js";
