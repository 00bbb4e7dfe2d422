import { BlobServiceRegistry, isInvalidAddress, isUnavailable } from "castore-core";
import { DUMMY_DIGEST } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { parseGrpcAddress } from "../src/client/address.js";
import { grpcBackends } from "../src/client/backends.js";
import { GrpcBlobService } from "../src/client/blob-service.js";
import { tempDir } from "./support/served.js";

describe("gRPC addresses", () => {
  const registry = new BlobServiceRegistry(grpcBackends);

  // The cases of the Rust original's from_addr tests.
  it.each([
    ["grpc+unix:///path/to/somewhere", true],
    ["grpc+unix://host.example/path/to/somewhere", false],
    ["grpc+http://[::1]:12345", true],
    ["grpc+http://localhost", true],
    ["grpc+https://localhost", true],
    ["grpc+http://localhost/some-path", false],
  ])("%s is valid: %s", async (address, valid) => {
    const result = await registry.open(address).catch((error: unknown) => error);
    if (valid) {
      expect(result).toBeInstanceOf(GrpcBlobService);
      await (result as GrpcBlobService).close();
    } else {
      expect(isInvalidAddress(result), String(result)).toBe(true);
    }
  });

  it.each([
    ["grpc+unix://", "no path"],
    ["grpc+unix:///", "the root as path"],
    ["grpc+https://", "no host"],
    ["grpc+https://user:pw@localhost:1", "a user"],
    ["grpc+http://localhost:1?package=foo.v1", "an unknown package"],
    ["grpc+http://localhost:1?speed=fast", "an unknown option"],
    ["grpc+http://localhost:1?package=snix.castore.v1&package=snix.castore.v1", "an option twice"],
    ["grpc+http://localhost:1#x", "a fragment"],
  ])("%s is an InvalidAddress error (%s)", async (address) => {
    const error = await registry.open(address).catch((e: unknown) => e);
    expect(isInvalidAddress(error), String(error)).toBe(true);
  });

  it("parses where to connect and which package to speak", () => {
    expect(parseGrpcAddress("grpc+unix:///run/castore/castore.sock")).toMatchObject({
      origin: "http://localhost",
      socketPath: "/run/castore/castore.sock",
      protoPackage: "tvix.castore.v1",
    });
    expect(parseGrpcAddress("grpc+unix:///tmp/a%20b.sock").socketPath).toBe("/tmp/a b.sock");
    expect(parseGrpcAddress("grpc+https://store.example:8443?package=snix.castore.v1")).toMatchObject({
      origin: "https://store.example:8443",
      socketPath: undefined,
      protoPackage: "snix.castore.v1",
    });
    expect(parseGrpcAddress("grpc+http://[::1]:12345").origin).toBe("http://[::1]:12345");
  });

  it("connects lazily: a client for an address where nothing listens opens, and fails only when used", async () => {
    const socket = `${await tempDir()}/nobody-here.sock`;
    const client = await registry.open(`grpc+unix://${socket}`);
    const error = await client.has(DUMMY_DIGEST).catch((e: unknown) => e);
    expect(isUnavailable(error), String(error)).toBe(true);
    expect(String(error)).toMatch(/ENOENT|unavailable|connect/i);
    await client.close();
  });
});
