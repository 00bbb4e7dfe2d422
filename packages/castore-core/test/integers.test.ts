import { describe, expect, it } from "vitest";
import { checkInteger, checkOptionalInteger, integerOption, parseOptions } from "../src/backend.js";
import { isInvalidAddress, isInvalidArgument } from "../src/index.js";

function failure(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

describe("checkInteger", () => {
  it("returns integers within the range", () => {
    expect(checkInteger("window", 1)).toBe(1);
    expect(checkInteger("window", Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    expect(checkInteger("offset", 0, 0)).toBe(0);
    expect(checkInteger("lease", 8, 8, 8)).toBe(8);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "4", null, undefined, 4n])(
    "refuses %s as a positive integer with an InvalidArgument error naming it",
    (value) => {
      const error = failure(() => checkInteger("window", value));
      expect(isInvalidArgument(error)).toBe(true);
      expect((error as Error).message).toBe(`window must be a positive integer, got ${String(value)}`);
    },
  );

  it("names the range in the words that fit it", () => {
    expect(() => checkInteger("size", -1, 0)).toThrow("size must be a non-negative integer, got -1");
    expect(() => checkInteger("lease", 9, 1, 8)).toThrow("lease must be an integer from 1 to 8, got 9");
  });

  it("lets an optional setting be undefined", () => {
    expect(checkOptionalInteger("window", undefined)).toBeUndefined();
    expect(checkOptionalInteger("window", 3, 1, 3)).toBe(3);
    expect(() => checkOptionalInteger("window", 4, 1, 3)).toThrow("window must be an integer from 1 to 3, got 4");
  });
});

describe("integerOption", () => {
  const parsers = { n: integerOption(1, 100) };
  it("parses decimal digits within the range", () => {
    expect(parseOptions(new URL("x:?n=100"), parsers)).toEqual({ n: 100 });
  });

  it.each(["0", "101", "1e2", "-1", " 1", "0x10", ""])("refuses %j as an InvalidAddress error", (value) => {
    const error = failure(() => parseOptions(new URL(`x:?n=${encodeURIComponent(value)}`), parsers));
    expect(isInvalidAddress(error)).toBe(true);
    expect((error as Error).message).toContain("expected an integer from 1 to 100");
  });
});
