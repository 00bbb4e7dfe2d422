import { describe, expect, it } from "vitest";
import {
  booleanOption,
  integerOption,
  oneOf,
  parseOptions,
  requireHost,
  requireNoHost,
  requireNoPath,
  requirePath,
} from "../src/backend.js";
import { type BlobService, type BlobServiceBackend, BlobServiceRegistry, isInvalidAddress } from "../src/index.js";

const fakeService = {} as BlobService;
const backend = (scheme: string, open: (url: URL) => void = () => {}): BlobServiceBackend => ({
  scheme,
  async open(url) {
    open(url);
    return fakeService;
  },
});

async function expectInvalidAddress(promise: Promise<unknown>, message: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isInvalidAddress(error), String(error)).toBe(true);
  expect((error as Error).message).toMatch(message);
}

describe("BlobServiceRegistry", () => {
  it("opens registered schemes, case-insensitively", async () => {
    const seen: string[] = [];
    const registry = new BlobServiceRegistry([backend("memory", (url) => seen.push(url.href))]);
    expect(await registry.open("MEMORY://")).toBe(fakeService);
    expect(seen).toEqual(["memory://"]);
  });

  it("lists the known schemes when the scheme is unknown", async () => {
    const registry = new BlobServiceRegistry([backend("memory"), backend("sqlite")]);
    await expectInvalidAddress(
      registry.open("redis://x"),
      /unknown store scheme "redis:\/\/".*memory:\/\/, sqlite:\/\//,
    );
  });

  it("refuses strings that are not URLs, empty addresses and fragments", async () => {
    const registry = new BlobServiceRegistry([backend("memory")]);
    await expectInvalidAddress(registry.open("not a url"), /is not a URL/);
    await expectInvalidAddress(registry.open(""), /empty/);
    await expectInvalidAddress(registry.open("memory://#x"), /fragment/);
  });

  it("refuses a second backend for a taken scheme but accepts the same one again", () => {
    const memory = backend("memory");
    const registry = new BlobServiceRegistry([memory]);
    registry.register(memory);
    expect(() => registry.register(backend("memory"))).toThrow(/already registered/);
    expect(() => registry.register(backend("no spaces"))).toThrow(/invalid URL scheme/);
    expect(registry.schemes()).toEqual(["memory"]);
  });
});

describe("address validators", () => {
  it("tell host and path apart for non-special schemes", () => {
    expect(() => requireNoHost(new URL("memory://"))).not.toThrow();
    expect(() => requireNoHost(new URL("memory://foo"))).toThrow(/take no host/);
    expect(() => requireNoPath(new URL("memory://"))).not.toThrow();
    expect(() => requireNoPath(new URL("memory:///"))).toThrow(/take no path/);
    expect(requirePath(new URL("grpc+unix:///run/a%20b.sock"))).toBe("/run/a b.sock");
    expect(() => requirePath(new URL("grpc+unix://"))).toThrow(/need a path/);
    expect(requireHost(new URL("grpc+http://localhost:8000"))).toBe("localhost:8000");
    expect(() => requireHost(new URL("grpc+http:///x"))).toThrow(/need a host/);
  });

  it("parse options strictly", () => {
    const url = new URL("sqlite:///x?synchronous=full&readonly=1&chunk=64");
    const parsers = { synchronous: oneOf("normal", "full"), readonly: booleanOption, chunk: integerOption(1, 100) };
    expect(parseOptions(url, parsers)).toEqual({ synchronous: "full", readonly: true, chunk: 64 });
    expect(() => parseOptions(new URL("sqlite:///x?nope=1"), parsers)).toThrow(
      /unknown option "nope".*synchronous, readonly, chunk/,
    );
    expect(() => parseOptions(new URL("sqlite:///x?readonly=1&readonly=0"), parsers)).toThrow(/given twice/);
    expect(() => parseOptions(new URL("sqlite:///x?synchronous=off"), parsers)).toThrow(/expected one of normal, full/);
    expect(() => parseOptions(new URL("sqlite:///x?chunk=1e2"), parsers)).toThrow(/integer from 1 to 100/);
    expect(() => parseOptions(new URL("memory://?a=1"), {})).toThrow(/takes no options/);
    expect(() => parseOptions(new URL("sqlite:///x?toString=1"), parsers)).toThrow(/unknown option/);
  });
});

describe("decodePath", () => {
  it("reports malformed percent-encoding as an InvalidAddress error", () => {
    expect(() => requirePath(new URL("grpc+unix:///bad%zzpath%E0"))).toThrow(/not validly percent-encoded/);
  });
});
