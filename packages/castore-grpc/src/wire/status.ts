import { Code, ConnectError } from "@connectrpc/connect";
import {
  AbortedError,
  BackendError,
  type CastoreError,
  ErrorCode,
  IntegrityError,
  InvalidAddressError,
  InvalidArgumentError,
  InvalidDigestError,
  isCastoreError,
  NotFoundError,
  TooLargeError,
  UnavailableError,
  UnsupportedError,
} from "castore-core";

/**
 * castore errors ↔ gRPC status codes (docs/design.md §7): NotFound ↔ NOT_FOUND, InvalidDigest ↔
 * INVALID_ARGUMENT, Integrity ↔ DATA_LOSS, Aborted ↔ CANCELLED, TooLarge ↔ RESOURCE_EXHAUSTED,
 * Unavailable ↔ UNAVAILABLE.
 * Connect's `Code` numbers are the gRPC status numbers.
 */
const codeOfError: Record<ErrorCode, Code> = {
  NotFound: Code.NotFound,
  InvalidDigest: Code.InvalidArgument,
  InvalidArgument: Code.InvalidArgument,
  InvalidAddress: Code.InvalidArgument,
  Integrity: Code.DataLoss,
  Aborted: Code.Canceled,
  Closed: Code.Unavailable,
  TooLarge: Code.ResourceExhausted,
  Unsupported: Code.Unimplemented,
  Unavailable: Code.Unavailable,
  Backend: Code.Internal,
};

/**
 * Response metadata (a trailer) naming the castore error code behind a status. Several kinds share a
 * status (InvalidDigest, InvalidArgument and InvalidAddress are all INVALID_ARGUMENT); with this a
 * castore client raises exactly the kind the server had. Other peers ignore it.
 */
export const ERROR_CODE_METADATA = "castore-error-code";

/**
 * The kinds that share INVALID_ARGUMENT, which the metadata tells apart. Every other status maps to
 * one kind on the client (and Closed or Backend on the server are not the client's own Closed or
 * Backend: a server shutting down is UNAVAILABLE, which its clients see as Unavailable).
 */
const invalidInputOfCode: Partial<Record<ErrorCode, new (message: string, options?: ErrorOptions) => CastoreError>> = {
  InvalidDigest: InvalidDigestError,
  InvalidArgument: InvalidArgumentError,
  InvalidAddress: InvalidAddressError,
};

/**
 * The ConnectError a server answers for `error`. castore errors keep their message and their code
 * (in the castore-error-code metadata); anything else is an INTERNAL error whose details stay on the server.
 */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (isCastoreError(error)) {
    const metadata = { [ERROR_CODE_METADATA]: error.code };
    return new ConnectError(error.message, codeOfError[error.code], metadata, undefined, error);
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, error);
}

/** The castore error a client raises for a gRPC status (`error` is a ConnectError or anything a call threw). */
export function fromConnectError(error: unknown, call: string): CastoreError {
  if (isCastoreError(error)) return error;
  const connectError = ConnectError.from(error);
  const message = `${call}: ${connectError.rawMessage}`;
  const options = { cause: error };
  const code = isConnectFailure(error) ? Code.Unavailable : connectError.code;
  // A castore server names the kind; it is taken only for INVALID_ARGUMENT, so a confused or
  // hostile peer cannot turn, say, NOT_FOUND into an Integrity error.
  const named = connectError.metadata.get(ERROR_CODE_METADATA) ?? "";
  const invalidInput = Object.hasOwn(invalidInputOfCode, named) ? invalidInputOfCode[named as ErrorCode] : undefined;
  if (code === Code.InvalidArgument && invalidInput) return new invalidInput(message, options);
  // A castore server out of room for a call's data (its byte budget) says RESOURCE_EXHAUSTED, gRPC's
  // code for a server out of resources, and names the kind Unavailable: busy, worth a retry later.
  // Any other RESOURCE_EXHAUSTED is a limit the call itself exceeded.
  if (code === Code.ResourceExhausted && named === ErrorCode.Unavailable) return new UnavailableError(message, options);
  switch (code) {
    case Code.NotFound:
      return new NotFoundError(message, options);
    case Code.InvalidArgument:
      // From a peer that does not name the kind: castore clients check digests before sending, so
      // the server objected to something else.
      return new InvalidArgumentError(message, options);
    case Code.DataLoss:
      return new IntegrityError(message, options);
    case Code.Canceled:
      return new AbortedError(message, options);
    case Code.ResourceExhausted:
      return new TooLargeError(message, options);
    case Code.Unimplemented:
      return new UnsupportedError(message, options);
    case Code.Unavailable:
      // The server cannot be reached, went away mid-call or is shutting down: worth a retry later
      // or elsewhere (a cache tier reports its far store this way).
      return new UnavailableError(message, options);
    default:
      return new BackendError(`${message} (gRPC status ${Code[code]})`, options);
  }
}

/** What browsers' fetch rejects with when the server cannot be reached (no status, no details). */
const FETCH_FAILED = /^(Failed to fetch|NetworkError when attempting to fetch resource\.?|Load failed)$/;

/** Errors of connecting (or resolving the host) that mean the server cannot be reached now. */
const UNREACHABLE = new Set([
  "ENOENT",
  "ECONNREFUSED",
  "EACCES",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * True when `error` (or what caused it) is a failure to connect. Connect passes some on as
 * UNAVAILABLE but not all (a missing unix socket, ENOENT, came out INTERNAL): all are UNAVAILABLE.
 * A browser's fetch says only "Failed to fetch" (Chrome), "NetworkError when attempting to fetch
 * resource." (Firefox) or "Load failed" (Safari), as a TypeError, for a server it cannot reach.
 */
function isConnectFailure(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if (cause instanceof TypeError && FETCH_FAILED.test(cause.message)) return true;
    const { code, syscall } = cause as { code?: string; syscall?: string };
    if ((syscall === "connect" || syscall === "getaddrinfo") && code !== undefined && UNREACHABLE.has(code))
      return true;
  }
  return false;
}

/**
 * The status a server answers for a failed call, telling `onInternalError` about failures that are
 * not part of the protocol (a bug, a backend crash) so they do not pass unseen.
 */
export function statusOfFailure(error: unknown, onInternalError: (error: unknown) => void): ConnectError {
  const expected = error instanceof ConnectError || (isCastoreError(error) && error.code !== ErrorCode.Backend);
  if (!expected) onInternalError(error);
  return toConnectError(error);
}

/**
 * grpc-message as the gRPC over HTTP/2 spec encodes it: the message's UTF-8 bytes, with those
 * outside printable ASCII (0x20-0x7E) and '%' itself percent-encoded. (encodeURIComponent would
 * also encode ':' or '/', which peers that decode only what the spec asks, grpc-js among them,
 * then show as sent.)
 */
export function encodeGrpcMessage(message: string): string {
  let encoded = "";
  for (const byte of new TextEncoder().encode(message)) {
    encoded +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}

/**
 * Decodes grpc-message: every %XX is a byte, and the bytes are UTF-8. A '%' not followed by two hex
 * digits is kept as sent (the spec asks receivers not to fail on a malformed message).
 */
export function decodeGrpcMessage(value: string | undefined): string {
  if (value === undefined) return "";
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < value.length; i++) {
    const hex = value[i] === "%" ? value.slice(i + 1, i + 3) : "";
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...encoder.encode(value[i]));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
