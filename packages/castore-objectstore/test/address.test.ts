import { isInvalidAddress } from "castore-core";
import { describe, expect, it } from "vitest";
import { parseFileAddress, parseMemoryAddress, parseS3Address, safeHref } from "../src/address.js";

function refusal(parse: (url: URL) => unknown, address: string): Error {
  try {
    parse(new URL(address));
  } catch (error) {
    expect(isInvalidAddress(error), String(error)).toBe(true);
    return error as Error;
  }
  throw new Error(`${address} was accepted`);
}

describe("objectstore+s3:// addresses", () => {
  it("takes the bucket from the host, the prefix from the path and S3 options from the query", () => {
    const parsed = parseS3Address(
      new URL(
        "objectstore+s3://my-bucket/some/prefix/?endpoint=http://127.0.0.1:7480&region=eu-west-1&force_path_style=1&profile=ci&avg_chunk_size=65536&upload_concurrency=16&download_concurrency=2&retries=0",
      ),
    );
    expect(parsed).toEqual({
      avgChunkSize: 65536,
      uploadConcurrency: 16,
      downloadConcurrency: 2,
      prefix: "some/prefix",
      s3: {
        bucket: "my-bucket",
        endpoint: "http://127.0.0.1:7480",
        region: "eu-west-1",
        forcePathStyle: true,
        profile: "ci",
        retries: 0,
      },
    });
    expect(parseS3Address(new URL("objectstore+s3://b0b")).prefix).toBe("");
  });

  it.each([
    ["objectstore+s3://AKIA:SECRETVALUE@bucket", "no user or password"],
    ["objectstore+s3://bucket?aws_secret_access_key=SECRETVALUE", "looks like a credential"],
    ["objectstore+s3://bucket?access_key_id=SECRETVALUE", "looks like a credential"],
    ["objectstore+s3://bucket?session_token=SECRETVALUE", "looks like a credential"],
    ["objectstore+s3://bucket?mystery=SECRETVALUE", "unknown option"],
    ["objectstore+s3://bucket?endpoint=http://k:SECRETVALUE@host", "user or password"],
  ])("%s is refused without repeating the secret", (address, why) => {
    const error = refusal(parseS3Address, address);
    expect(error.message).toContain(why);
    expect(error.message).not.toContain("SECRETVALUE");
  });

  it.each([
    ["objectstore+s3://", "need a bucket"],
    ["objectstore+s3://Bad_Bucket", "not a valid S3 bucket name"],
    ["objectstore+s3://bucket:9000", "no port"],
    ["objectstore+s3://bucket?endpoint=ftp://x", "http"],
    ["objectstore+s3://bucket?force_path_style=maybe", "force_path_style"],
    ["objectstore+s3://bucket?avg_chunk_size=100", "avg_chunk_size"],
    ["objectstore+s3://bucket?avg_chunk_size=4194304", "avg_chunk_size"],
    ["objectstore+s3://bucket?upload_concurrency=0", "upload_concurrency"],
    ["objectstore+s3://bucket?region=a&region=b", "twice"],
  ])("%s is an InvalidAddress error (%s)", (address, why) => {
    expect(refusal(parseS3Address, address).message).toContain(why);
  });

  it("dot segments are resolved by the URL parser, so a prefix never climbs", () => {
    expect(parseS3Address(new URL("objectstore+s3://bucket/a/../b")).prefix).toBe("b");
    expect(parseS3Address(new URL("objectstore+s3://bucket/a/%2e%2e/../c")).prefix).toBe("c");
    expect(parseFileAddress(new URL("objectstore+file:///x/%2e%2e/y")).directory).toBe("/y");
  });

  it("safeHref keeps known options and hides everything else", () => {
    const href = safeHref(new URL("objectstore+s3://u:p@b/x?region=r&token=t"));
    expect(href).toBe("objectstore+s3://b/x?region=r&token=%E2%80%A6");
  });
});

describe("objectstore+file:// addresses", () => {
  it("takes an absolute directory", () => {
    expect(parseFileAddress(new URL("objectstore+file:///var/lib/castore/?avg_chunk_size=1048576"))).toEqual({
      avgChunkSize: 1048576,
      uploadConcurrency: undefined,
      downloadConcurrency: undefined,
      directory: "/var/lib/castore",
      prefix: "",
    });
  });

  it.each([
    ["objectstore+file://", "absolute directory"],
    ["objectstore+file:///", "absolute directory"],
    ["objectstore+file://host/path", "no host"],
    ["objectstore+file:///a?endpoint=http://x", "unknown option"],
  ])("%s is an InvalidAddress error (%s)", (address, why) => {
    expect(refusal(parseFileAddress, address).message).toContain(why);
  });
});

describe("objectstore+memory:// addresses", () => {
  it("takes no host and an optional prefix", () => {
    expect(parseMemoryAddress(new URL("objectstore+memory://")).prefix).toBe("");
    expect(parseMemoryAddress(new URL("objectstore+memory:///")).prefix).toBe("");
    expect(parseMemoryAddress(new URL("objectstore+memory:///p/q")).prefix).toBe("p/q");
    expect(refusal(parseMemoryAddress, "objectstore+memory://host").message).toContain("no host");
  });
});
