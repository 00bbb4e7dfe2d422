import { CastoreError, ErrorCode } from "castore-core";

/** What went wrong talking to an S3-compatible service, as far as a caller can act on it. */
export type S3FailureKind =
  /** The service rejected the credentials (unknown key, bad signature) or none were found. */
  | "credentials"
  /** The credentials are valid but may not do this (AccessDenied). */
  | "denied"
  /** The bucket does not exist. */
  | "missing-bucket"
  /** No connection could be made or kept (refused, reset, timed out, DNS). */
  | "unreachable"
  /** Still throttled (503 SlowDown) after every retry. */
  | "throttled"
  /** Any other answer the service gave. */
  | "service";

/** Kinds worth a retry later: the service is down, unreachable or shedding load, the request is fine. */
const TRANSIENT: ReadonlySet<S3FailureKind> = new Set(["unreachable", "throttled"]);

/**
 * A failure of an S3-compatible service, whose message names the bucket and the endpoint, never a
 * credential. `kind` says what to fix; `status` is the HTTP status if any. Its code is
 * `Unavailable` for `unreachable` and `throttled` (try again later, as for a gRPC peer that is
 * down) and `Backend` for every other kind (fix the configuration or the service).
 */
export class S3StoreError extends CastoreError {
  readonly kind: S3FailureKind;
  readonly bucket: string;
  readonly endpoint: string;
  readonly status: number | undefined;

  constructor(
    kind: S3FailureKind,
    where: { bucket: string; endpoint: string },
    detail: string,
    status: number | undefined,
    options?: ErrorOptions,
  ) {
    super(
      TRANSIENT.has(kind) ? ErrorCode.Unavailable : ErrorCode.Backend,
      `s3 bucket ${JSON.stringify(where.bucket)} at ${where.endpoint}: ${detail}`,
      options,
    );
    this.kind = kind;
    this.bucket = where.bucket;
    this.endpoint = where.endpoint;
    this.status = status;
  }
}

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
  $fault?: unknown;
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
]);

const CONNECTION_NAMES = new Set(["TimeoutError", "RequestTimeout", "NetworkingError"]);

/** The HTTP status an SDK error carries, if it got as far as an answer. */
export function statusOf(error: unknown): number | undefined {
  return (error as SdkErrorShape | null)?.$metadata?.httpStatusCode;
}

/** The service's error code (`NoSuchKey`, `SlowDown`, …) or the SDK's error name. */
export function nameOf(error: unknown): string {
  const name = (error as SdkErrorShape | null)?.name;
  return typeof name === "string" ? name : "Error";
}

/** True for failures below HTTP: nothing answered, or the connection broke. */
export function isConnectionFailure(error: unknown): boolean {
  if (statusOf(error) !== undefined) return false;
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const shape = current as SdkErrorShape & { cause?: unknown; errors?: unknown[] };
    if (typeof shape.code === "string" && CONNECTION_CODES.has(shape.code)) return true;
    if (typeof shape.name === "string" && CONNECTION_NAMES.has(shape.name)) return true;
    // AggregateError from happy-eyeballs connects
    if (Array.isArray(shape.errors) && shape.errors.some(isConnectionFailure)) return true;
    current = shape.cause;
  }
  return false;
}

/**
 * Whether another attempt may succeed: throttling (503 SlowDown), any 5xx, and connection
 * failures. Never a 4xx: the request itself is wrong, and repeating it changes nothing.
 */
export function isRetryable(error: unknown): boolean {
  const status = statusOf(error);
  if (status !== undefined) return status >= 500;
  return isConnectionFailure(error);
}

/**
 * Turns an SDK failure into an {@link S3StoreError}. Messages use the service's error code and the
 * HTTP status, not the SDK's text, which can quote request details; the original stays as `cause`.
 */
export function toS3StoreError(
  error: unknown,
  where: { bucket: string; endpoint: string },
  doing: string,
  attempts: number,
): S3StoreError {
  const status = statusOf(error);
  const name = nameOf(error);
  const tries = attempts > 1 ? ` (after ${attempts} attempts)` : "";
  if (name === "CredentialsProviderError") {
    return new S3StoreError(
      "credentials",
      where,
      `no credentials found for ${doing} (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a shared credentials file, or the profile option)`,
      undefined,
      { cause: error },
    );
  }
  if (
    name === "InvalidAccessKeyId" ||
    name === "SignatureDoesNotMatch" ||
    name === "InvalidToken" ||
    name === "ExpiredToken"
  ) {
    return new S3StoreError("credentials", where, `the credentials were rejected (${name}) while ${doing}`, status, {
      cause: error,
    });
  }
  if (name === "AccessDenied" || name === "Forbidden" || status === 403) {
    return new S3StoreError("denied", where, `access denied (${name}, HTTP ${status ?? 403}) while ${doing}`, status, {
      cause: error,
    });
  }
  if (name === "NoSuchBucket") {
    return new S3StoreError(
      "missing-bucket",
      where,
      `the bucket does not exist (NoSuchBucket) while ${doing}`,
      status,
      {
        cause: error,
      },
    );
  }
  if (status === undefined && isConnectionFailure(error)) {
    const code = connectionCodeOf(error);
    return new S3StoreError(
      "unreachable",
      where,
      `cannot reach the endpoint (${code}) while ${doing}${tries}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  if (name === "SlowDown" || (status === 503 && name === "ServiceUnavailable")) {
    return new S3StoreError(
      "throttled",
      where,
      `the service is throttling requests (${name}) while ${doing}${tries}`,
      status,
      {
        cause: error,
      },
    );
  }
  const answer = status === undefined ? name : `${name}, HTTP ${status}`;
  return new S3StoreError("service", where, `the service failed (${answer}) while ${doing}${tries}`, status, {
    cause: error,
  });
}

function connectionCodeOf(error: unknown): string {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const shape = current as SdkErrorShape & { cause?: unknown; errors?: unknown[] };
    if (typeof shape.code === "string") return shape.code;
    if (Array.isArray(shape.errors) && shape.errors.length > 0) return connectionCodeOf(shape.errors[0]);
    current = shape.cause;
  }
  return nameOf(error);
}
