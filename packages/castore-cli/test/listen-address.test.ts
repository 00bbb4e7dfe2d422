import { describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { parseListenAddress } from "../src/listen-address.js";

describe("parseListenAddress", () => {
  it("parses host:port, bracketed IPv6 and port 0", () => {
    expect(parseListenAddress("127.0.0.1:8000")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 8000 });
    expect(parseListenAddress("localhost:0")).toEqual({ kind: "tcp", host: "localhost", port: 0 });
    expect(parseListenAddress("[::1]:9000")).toEqual({ kind: "tcp", host: "::1", port: 9000 });
  });

  it("parses unix sockets, resolving relative paths", () => {
    expect(parseListenAddress("unix:/run/castore.sock")).toEqual({ kind: "unix", path: "/run/castore.sock" });
    expect(parseListenAddress("unix:castore.sock")).toEqual({ kind: "unix", path: `${process.cwd()}/castore.sock` });
  });

  it.each([
    "",
    "127.0.0.1",
    "127.0.0.1:",
    ":8000",
    "127.0.0.1:65536",
    "127.0.0.1:80a",
    "::1:8000",
    "unix:",
    "http://127.0.0.1:8000",
  ])("refuses %j with a usage error", (text) => {
    expect(() => parseListenAddress(text)).toThrow(UsageError);
    expect(() => parseListenAddress(text)).toThrow(/--listen-address/);
  });
});
