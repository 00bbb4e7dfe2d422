import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import type { ObjectStore } from "../object-store.js";
import { type ResponseBody, readBody } from "./body.js";
import { isRetryable, nameOf, S3StoreError, statusOf, toS3StoreError } from "./errors.js";
import { AttemptsError, DEFAULT_RETRY_POLICY, type RetryPolicy, withRetries } from "./retry.js";

export interface S3ObjectStoreOptions {
  readonly bucket: string;
  /** Service URL for S3-compatible services (Ceph RGW, MinIO, R2…); AWS S3 when omitted. */
  readonly endpoint?: string | undefined;
  /** Signing region; "us-east-1" when omitted (what most S3-compatible services expect). */
  readonly region?: string | undefined;
  /** Address buckets as `endpoint/bucket` rather than `bucket.endpoint` (most non-AWS services). */
  readonly forcePathStyle?: boolean | undefined;
  /** Profile of the shared config/credentials files; otherwise AWS_PROFILE or "default". */
  readonly profile?: string | undefined;
  /** Explicit credentials (API only, never from an address); otherwise the standard AWS chain. */
  readonly credentials?: S3ClientConfig["credentials"];
  /** How failed requests are repeated (5xx, 503 SlowDown, connection errors; never 4xx). */
  readonly retry?: RetryPolicy | undefined;
  /** Most connections kept open to the service. Default 64. */
  readonly maxSockets?: number | undefined;
  /** Milliseconds to wait for a TCP connection before counting the endpoint unreachable. Default 5000. */
  readonly connectTimeoutMs?: number | undefined;
}

/**
 * Objects in an S3-compatible bucket through @aws-sdk/client-s3. Credentials come from the standard
 * AWS chain (environment, shared files, profile, instance roles) and appear nowhere in messages.
 * Puts are conditional (`If-None-Match: *`), so an object that exists is never overwritten. The
 * SDK's own retries are off: {@link withRetries} retries 5xx, SlowDown and connection failures with
 * backoff and jitter, and never a 4xx.
 */
export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  readonly bucket: string;
  readonly endpoint: string;
  readonly #client: S3Client;
  readonly #retry: RetryPolicy;
  readonly #agents: (HttpAgent | HttpsAgent)[];

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.endpoint = options.endpoint ?? `AWS S3 (${options.region ?? "us-east-1"})`;
    this.description = `s3 bucket ${JSON.stringify(this.bucket)} at ${this.endpoint}`;
    this.#retry = options.retry ?? DEFAULT_RETRY_POLICY;
    const maxSockets = options.maxSockets ?? 64;
    const httpAgent = new HttpAgent({ keepAlive: true, maxSockets });
    const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets });
    this.#agents = [httpAgent, httpsAgent];
    this.#client = new S3Client({
      region: options.region ?? "us-east-1",
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      maxAttempts: 1,
      // Bodies are whole buffers with a known length: no aws-chunked trailing checksums, which
      // several S3-compatible services (Ceph RGW among them) refuse. Chunks are verified by BLAKE3.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: { httpAgent, httpsAgent, connectionTimeout: options.connectTimeoutMs ?? 5_000 },
    });
  }

  /** Checks that the endpoint answers, the credentials work and the bucket exists (HeadBucket). */
  async check(signal?: AbortSignal): Promise<void> {
    try {
      await this.#send(
        "checking the bucket",
        (s) => this.#client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: s }),
        signal,
      );
    } catch (error) {
      // HeadBucket has no body, so the service cannot name its error: go by the status.
      if (error instanceof S3StoreError && error.status === 404) {
        throw new S3StoreError("missing-bucket", this, "the bucket does not exist (HTTP 404 on HeadBucket)", 404, {
          cause: error.cause,
        });
      }
      if (
        error instanceof S3StoreError &&
        (error.status === 403 || error.status === 400) &&
        error.kind !== "credentials"
      ) {
        throw new S3StoreError(
          "credentials",
          this,
          `the service refused the credentials or the bucket (HTTP ${error.status} on HeadBucket)`,
          error.status,
          { cause: error.cause },
        );
      }
      throw error;
    }
  }

  async get(key: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    return this.#send(
      `reading ${key}`,
      async (s) => {
        try {
          const result = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
            abortSignal: s,
          });
          return await readBody(result.Body as unknown as ResponseBody, result.ContentLength);
        } catch (error) {
          if (nameOf(error) === "NoSuchKey") return undefined;
          throw error;
        }
      },
      signal,
    );
  }

  async head(key: string, signal?: AbortSignal): Promise<boolean> {
    return this.#send(
      `checking ${key}`,
      async (s) => {
        try {
          await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: s });
          return true;
        } catch (error) {
          // A HEAD answer has no body: 404 is all it says. The bucket was checked on open.
          if (statusOf(error) === 404) return false;
          throw error;
        }
      },
      signal,
    );
  }

  async putIfAbsent(key: string, bytes: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    const created = await this.#send(
      `writing ${key}`,
      async (s) => {
        try {
          await this.#client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: key,
              Body: bytes,
              ContentLength: bytes.length,
              IfNoneMatch: "*",
            }),
            { abortSignal: s },
          );
          return true;
        } catch (error) {
          const status = statusOf(error);
          if (status === 412) return false; // it exists: content-addressed, so it holds these bytes
          if (status === 409) return undefined; // a concurrent conditional write of the same key
          throw error;
        }
      },
      signal,
    );
    if (created !== undefined) return created;
    // 409 ConditionalRequestConflict: someone else is writing this key right now. It counts as
    // present once it is there; if it is not, this put did not happen either.
    if (await this.head(key, signal)) return false;
    throw new S3StoreError("service", this, `a concurrent write of ${key} conflicted (HTTP 409) and left nothing`, 409);
  }

  async close(): Promise<void> {
    this.#client.destroy();
    for (const agent of this.#agents) agent.destroy();
  }

  async #send<T>(
    doing: string,
    operation: (signal: AbortSignal | undefined) => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    try {
      return await withRetries(operation, isRetryable, this.#retry, signal);
    } catch (error) {
      if (error instanceof AttemptsError) throw toS3StoreError(error.error, this, doing, error.attempts);
      throw error;
    }
  }
}
