import { BackendError, IntegrityError, InvalidAddressError, InvalidDigestError, NotFoundError } from "castore-core";
import { describe, expect, it } from "vitest";
import { describeError, exitCodeFor, InterruptedError, UsageError } from "../src/errors.js";

describe("exitCodeFor", () => {
  it("maps malformed input to 2 and failures to 1", () => {
    expect(exitCodeFor(new UsageError("x"))).toBe(2);
    expect(exitCodeFor(new InvalidDigestError("x"))).toBe(2);
    expect(exitCodeFor(new InvalidAddressError("x"))).toBe(2);
    expect(exitCodeFor(new NotFoundError("x"))).toBe(1);
    expect(exitCodeFor(new IntegrityError("x"))).toBe(1);
    expect(exitCodeFor(new BackendError("x"))).toBe(1);
    expect(exitCodeFor(new Error("x"))).toBe(1);
  });

  it("maps interrupts to 128 + the signal number", () => {
    expect(exitCodeFor(new InterruptedError("SIGINT"))).toBe(130);
    expect(exitCodeFor(new InterruptedError("SIGTERM"))).toBe(143);
  });
});

describe("describeError", () => {
  it("adds causes that say more, on one line", () => {
    const cause = new Error("connect ECONNREFUSED 127.0.0.1:1");
    expect(describeError(new BackendError("failed to store the blob", { cause }))).toBe(
      "failed to store the blob: connect ECONNREFUSED 127.0.0.1:1",
    );
    expect(describeError(new BackendError("boom: inner", { cause: new Error("inner") }))).toBe("boom: inner");
    expect(describeError(new Error("two\n  lines"))).toBe("two lines");
    const grpcCause = new Error("[unavailable] connect ECONNREFUSED 127.0.0.1:1");
    expect(describeError(new BackendError("Stat: connect ECONNREFUSED 127.0.0.1:1", { cause: grpcCause }))).toBe(
      "Stat: connect ECONNREFUSED 127.0.0.1:1",
    );
  });

  it("names integrity failures", () => {
    expect(describeError(new IntegrityError("blob b3:x is corrupt"))).toBe("integrity error: blob b3:x is corrupt");
  });
});
