import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import type { GatewayTarget } from "../../scripts/gateway.mjs";
import { S3ObjectStore, type S3ObjectStoreOptions } from "../../src/s3/s3-store.js";

export const gateway: GatewayTarget = inject("gateway");

/** The skip reason for S3 tests, shown in their titles when there is no gateway. */
export const noGateway = gateway.available ? undefined : gateway.reason;

type Available = Extract<GatewayTarget, { available: true }>;

export function requireGateway(): Available {
  if (!gateway.available) throw new Error(`no gateway: ${gateway.reason}`);
  return gateway;
}

/** An S3 object store on the test bucket, with the gateway's credentials given explicitly. */
export function gatewayStore(options: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  const target = requireGateway();
  return new S3ObjectStore({
    bucket: target.bucket,
    endpoint: target.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    ...options,
  });
}

/** A key prefix no other test uses, so tests sharing the bucket never see each other's objects. */
export function uniquePrefix(label: string): string {
  return `${label}-${randomBytes(6).toString("hex")}`;
}
