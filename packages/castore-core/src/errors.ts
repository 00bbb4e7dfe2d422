/**
 * castore's error taxonomy. Every error the library throws on purpose is a {@link CastoreError} with
 * a stable string `code`. Callers should branch on `code` (or the `is…` guards below), not on
 * `instanceof`: errors cross package copies, realms and the gRPC wire, where class identity is lost.
 */

/** The stable codes. New codes may be added; existing ones never change meaning. */
export const ErrorCode = {
  NotFound: "NotFound",
  InvalidDigest: "InvalidDigest",
  InvalidAddress: "InvalidAddress",
  InvalidArgument: "InvalidArgument",
  Integrity: "Integrity",
  Aborted: "Aborted",
  Closed: "Closed",
  TooLarge: "TooLarge",
  Unsupported: "Unsupported",
  Unavailable: "Unavailable",
  Backend: "Backend",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every castore error. */
export class CastoreError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = `${code}Error`;
  }
}

/** A blob (or another named thing) does not exist where it was required to. */
export class NotFoundError extends CastoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.NotFound, message, options);
  }
}

/** A digest had the wrong length or could not be parsed. */
export class InvalidDigestError extends CastoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.InvalidDigest, message, options);
  }
}

/** What an `InvalidAddress` error may say besides its message. */
export interface InvalidAddressErrorOptions extends ErrorOptions {
  /** The query option (or configuration key) at fault, so a caller can point at its source. */
  option?: string | undefined;
}

/**
 * A store address (URL) or store configuration was malformed, named an unknown scheme, or carried
 * bad options.
 */
export class InvalidAddressError extends CastoreError {
  /** The query option at fault, when one is. */
  readonly option: string | undefined;

  constructor(message: string, options?: InvalidAddressErrorOptions) {
    super(ErrorCode.InvalidAddress, message, options);
    this.option = options?.option;
  }
}

/** An argument was out of range: a negative seek target, a non-integer offset, a bad option value. */
export class InvalidArgumentError extends CastoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.InvalidArgument, message, options);
  }
}

/** Bytes did not hash to the digest they were stored or requested under. */
export class IntegrityError extends CastoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.Integrity, message, options);
  }
}

/** The operation was cancelled through its AbortSignal (or the peer cancelled it). */
export class AbortedError extends CastoreError {
  constructor(message = "the operation was aborted", options?: ErrorOptions) {
    super(ErrorCode.Aborted, message, options);
  }
}

/** The reader, writer or service was already closed. */
export class ClosedError extends CastoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.Closed, message, options);
  }
}

/**
 * A blob or message exceeded a configured limit, or the storage has no room left (a full disk or
 * quota; the message says which).
 */
export class TooLargeError extends CastoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.TooLarge, message, options);
  }
}

/** The operation is valid in general but this reader or backend cannot do it (e.g. a backward seek on a stream). */
export class UnsupportedError extends CastoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.Unsupported, message, options);
  }
}

/**
 * A store the operation needs cannot be reached now (a cache's far tier is down, a server refuses
 * connections): worth retrying later. `cause` holds the underlying error.
 */
export class UnavailableError extends CastoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.Unavailable, message, options);
  }
}

/** The storage backend failed (I/O, database, network); `cause` holds the underlying error. */
export class BackendError extends CastoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.Backend, message, options);
  }
}

const knownCodes = new Set<string>(Object.values(ErrorCode));

/** True when `error` is a castore error, optionally with the given code. Tests `code`, not the class. */
export function isCastoreError(error: unknown, code?: ErrorCode): error is CastoreError {
  if (typeof error !== "object" || error === null) return false;
  const actual = (error as { code?: unknown }).code;
  if (typeof actual !== "string" || !knownCodes.has(actual)) return false;
  return code === undefined || actual === code;
}

export const isNotFound = (error: unknown): error is NotFoundError => isCastoreError(error, ErrorCode.NotFound);
export const isInvalidDigest = (error: unknown): error is InvalidDigestError =>
  isCastoreError(error, ErrorCode.InvalidDigest);
export const isInvalidAddress = (error: unknown): error is InvalidAddressError =>
  isCastoreError(error, ErrorCode.InvalidAddress);
export const isInvalidArgument = (error: unknown): error is InvalidArgumentError =>
  isCastoreError(error, ErrorCode.InvalidArgument);
export const isIntegrity = (error: unknown): error is IntegrityError => isCastoreError(error, ErrorCode.Integrity);
export const isAborted = (error: unknown): error is AbortedError => isCastoreError(error, ErrorCode.Aborted);
export const isClosed = (error: unknown): error is ClosedError => isCastoreError(error, ErrorCode.Closed);
export const isTooLarge = (error: unknown): error is TooLargeError => isCastoreError(error, ErrorCode.TooLarge);
export const isUnsupported = (error: unknown): error is UnsupportedError =>
  isCastoreError(error, ErrorCode.Unsupported);
export const isUnavailable = (error: unknown): error is UnavailableError =>
  isCastoreError(error, ErrorCode.Unavailable);
export const isBackend = (error: unknown): error is BackendError => isCastoreError(error, ErrorCode.Backend);
