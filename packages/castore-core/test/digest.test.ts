import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { B3Digest, isInvalidDigest } from "../src/index.js";

const HELLO_HEX = "5ca7815adcb484e9a136c11efe69c1d530176d549b5d18d038eb5280b4b3470c";
// `printf 'Hello World!' | b3sum --no-names | xxd -r -p | base64`
const HELLO_B3 = "b3:XKeBWty0hOmhNsEe/mnB1TAXbVSbXRjQOOtSgLSzRww=";

function expectInvalid(fn: () => unknown, message: RegExp) {
  try {
    fn();
  } catch (error) {
    expect(isInvalidDigest(error)).toBe(true);
    expect((error as Error).name).toBe("InvalidDigestError");
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error("expected an InvalidDigest error");
}

describe("B3Digest", () => {
  it("prints b3: with padded standard base64 and parses it back", () => {
    const digest = B3Digest.parse(HELLO_HEX);
    expect(digest.toString()).toBe(HELLO_B3);
    expect(`${digest}`).toBe(HELLO_B3);
    expect(JSON.stringify({ digest })).toBe(`{"digest":"${HELLO_B3}"}`);
    expect(B3Digest.parse(HELLO_B3).toHex()).toBe(HELLO_HEX);
    expect(B3Digest.parse(HELLO_HEX.toUpperCase()).equals(digest)).toBe(true);
  });

  it("refuses wrong lengths and names the length", () => {
    expectInvalid(() => B3Digest.fromBytes(new Uint8Array(31)), /31 bytes, expected 32/);
    expectInvalid(() => B3Digest.fromBytes(new Uint8Array(33)), /33 bytes/);
    expectInvalid(() => B3Digest.fromBytes(new Uint8Array(0)), /0 bytes/);
    expectInvalid(() => B3Digest.parse("b3:AAAA"), /3 bytes/);
  });

  it("refuses malformed text", () => {
    for (const bad of [
      "",
      "b3:",
      HELLO_HEX.slice(1),
      `${HELLO_HEX}0`,
      `${HELLO_HEX.slice(2)}zz`,
      HELLO_B3.slice(0, -1),
      HELLO_B3.replace("=", "A"),
      HELLO_B3.replace("/", "_"),
      ` ${HELLO_B3}`,
      `sha256:${HELLO_HEX}`,
      // non-canonical: the last base64 character carries pad bits that must be zero
      `${HELLO_B3.slice(0, -2)}x=`,
    ]) {
      expectInvalid(() => B3Digest.parse(bad), /invalid digest/);
    }
  });

  it("copies its input and hands out copies", () => {
    const bytes = new Uint8Array(32).fill(7);
    const digest = B3Digest.fromBytes(bytes);
    bytes[0] = 0;
    expect(digest.bytes[0]).toBe(7);
    digest.bytes[0] = 1;
    expect(digest.bytes[0]).toBe(7);
  });

  it("copies a Node Buffer too (Buffer's slice is a view)", () => {
    const bytes = Buffer.alloc(32, 7);
    const digest = B3Digest.fromBytes(bytes);
    bytes.fill(0);
    expect(digest.bytes[0]).toBe(7);
  });

  it("compares by bytes and works as a Map key through its string", () => {
    const a = B3Digest.fromBytes(new Uint8Array(32).fill(1));
    const b = B3Digest.fromBytes(new Uint8Array(32).fill(1));
    const c = B3Digest.fromBytes(new Uint8Array(32).fill(2));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    expect(a.equals(new Uint8Array(31))).toBe(false);
    const map = new Map([[a.toString(), "x"]]);
    expect(map.get(b.toString())).toBe("x");
  });

  it("round-trips any 32 bytes through both text forms (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const digest = B3Digest.fromBytes(bytes);
        const text = digest.toString();
        expect(text).toMatch(/^b3:[A-Za-z0-9+/]{43}=$/);
        expect(B3Digest.parse(text).equals(bytes)).toBe(true);
        expect(B3Digest.parse(digest.toHex()).equals(bytes)).toBe(true);
        expect(B3Digest.parse(text).toString()).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it("never accepts base64 that does not decode to exactly 32 bytes (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }).filter((b) => b.length !== 32),
        (bytes) => {
          const text = `b3:${Buffer.from(bytes).toString("base64")}`;
          expect(B3Digest.isValid(text)).toBe(false);
        },
      ),
    );
  });

  it("parses exactly what Node's base64 encoder prints (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        expect(B3Digest.fromBytes(bytes).toString()).toBe(`b3:${Buffer.from(bytes).toString("base64")}`);
      }),
    );
  });
});
