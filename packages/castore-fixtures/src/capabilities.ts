import type { B3Digest, BlobService } from "castore-core";

/**
 * A service under test with what releases the resources created for it: a temporary directory, a
 * server, a database. `teardown` runs after every case, once the service is closed, whether the case
 * passed or failed (only a case that hangs past the runner's timeout is left behind, with its service).
 */
export interface BlobServiceUnderTest {
  readonly service: BlobService;
  readonly teardown?: (() => Promise<void> | void) | undefined;
}

/**
 * Creates a fresh, empty service under test. Called once per case; the runner closes it afterwards.
 * Return `{ service, teardown }` when the case leaves something behind that closing the service
 * does not remove (a directory per case, say): the runner calls `teardown` after every case.
 */
export type BlobServiceFactory = () =>
  | BlobService
  | BlobServiceUnderTest
  | Promise<BlobService>
  | Promise<BlobServiceUnderTest>;

/**
 * What a backend declares it supports. Cases for a capability that is not declared are reported as
 * skipped; cases that check how an undeclared feature is refused run instead. Declare everything
 * the backend honestly does: an undeclared capability hides bugs behind skips.
 */
export interface BlobServiceCapabilities {
  /** Readers can seek backwards (and `reader.seekable` is true). */
  backwardSeek?: boolean;
  /** Readers know the blob's size and can seek relative to the end. */
  seekFromEnd?: boolean;
  /**
   * Test hook: damages the stored bytes of `digest` in `service` (for example flips a byte in the
   * middle), so the suite can check that readers detect it. The blob must still look present.
   */
  corrupt?: (service: BlobService, digest: B3Digest) => Promise<void>;
  /**
   * The backend cuts large blobs into content-defined chunks: `chunks()` lists two or more for
   * BLOB_C (5 MiB + 3 bytes), every chunk is readable as a blob by its digest, and readers seek
   * anywhere (backward and from the end). With `corrupt`, the hook must also take a chunk's digest
   * (and damage that chunk, wherever it is shared).
   */
  chunks?: boolean;
  /**
   * Test hook: how many bytes of blob data `service` holds, each stored chunk or one-piece blob
   * counted once, so the suite can check that blobs sharing a region share its chunks.
   */
  storedBytes?: (service: BlobService) => Promise<number>;
  /**
   * Test hook: how many distinct blobs `service` holds, so the suite can check that storing the
   * same bytes again stores them once.
   */
  storedBlobCount?: (service: BlobService) => Promise<number>;
  /**
   * Test hook, called after the suite closed a service: throws if the service still holds
   * resources it should have released (open files, sockets, timers).
   */
  checkReleased?: (service: BlobService) => Promise<void>;
}

/** What a conformance case receives: a fresh service and the backend's declared capabilities. */
export interface ConformanceContext {
  readonly service: BlobService;
  readonly capabilities: Readonly<BlobServiceCapabilities>;
}

/** One conformance check, independent of any test runner. */
export interface ConformanceCase {
  /** Stable identifier, "group/name-in-kebab-case". Never renamed once published. */
  readonly id: string;
  /** Human-readable title. */
  readonly title: string;
  /** Why the case does not apply to a backend with these capabilities, or undefined when it does. */
  skipReason?(capabilities: Readonly<BlobServiceCapabilities>): string | undefined;
  /** Rejects (usually with a ConformanceFailure) when the backend misbehaves. */
  run(context: ConformanceContext): Promise<void>;
}

/** A skipReason for cases that need a capability. */
export function requires(
  capability: keyof BlobServiceCapabilities,
): (capabilities: Readonly<BlobServiceCapabilities>) => string | undefined {
  return (capabilities) => (capabilities[capability] ? undefined : `backend does not declare ${capability}`);
}

/** A skipReason for cases that need several capabilities. */
export function requiresAll(
  ...needed: (keyof BlobServiceCapabilities)[]
): (capabilities: Readonly<BlobServiceCapabilities>) => string | undefined {
  return (capabilities) => {
    const missing = needed.filter((capability) => !capabilities[capability]);
    return missing.length === 0 ? undefined : `backend does not declare ${missing.join(", ")}`;
  };
}

/** A skipReason for cases that check how an undeclared capability is refused. */
export function refuses(
  capability: keyof BlobServiceCapabilities,
): (capabilities: Readonly<BlobServiceCapabilities>) => string | undefined {
  return (capabilities) => (capabilities[capability] ? `backend declares ${capability}` : undefined);
}
