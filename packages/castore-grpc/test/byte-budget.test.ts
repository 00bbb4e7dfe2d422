// The budget every call of a server shares for the bytes it buffers (finding: 1,000 stalled Puts
// took a daemon from 428 MiB to 2.2 GiB). Deterministic: no network, no timers but the wait limit.
import { Code, ConnectError } from "@connectrpc/connect";
import { isAborted } from "castore-core";
import { describe, expect, it } from "vitest";
import { ByteBudget, CallCharge, FreeAllowance } from "../src/server/byte-budget.js";

describe("ByteBudget", () => {
  it("lends what it has, makes the rest wait in order, and wakes waiters as bytes come back", async () => {
    const budget = new ByteBudget(100);
    const never = new AbortController().signal;
    await budget.take(60, never);
    const order: string[] = [];
    const first = budget.take(50, never).then(() => order.push("first"));
    const second = budget.take(10, never).then(() => order.push("second"));
    // First come, first served: the small request does not overtake the waiting one.
    expect(budget.tryTake(10)).toBe(false);
    budget.give(60);
    await Promise.all([first, second]);
    expect(order).toEqual(["first", "second"]);
    expect(budget.available).toBe(40);
  });

  it("a waiter whose signal fires leaves the queue and takes nothing", async () => {
    const budget = new ByteBudget(10);
    await budget.take(10, new AbortController().signal);
    const controller = new AbortController();
    const waiting = budget.take(5, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toSatisfy(isAborted);
    budget.give(10);
    expect(budget.available).toBe(10);
  });
});

const WAIT_MS = 1_000;

describe("CallCharge", () => {
  it("charges nothing for a call's first bytes, and nothing past its cap", async () => {
    const budget = new ByteBudget(1000);
    const allowance = new FreeAllowance(1000);
    const charge = new CallCharge(budget, { allowance, freeBytes: 100, capBytes: 400, maxWaitMs: WAIT_MS });
    const signal = new AbortController().signal;
    await charge.charge(80, signal);
    expect(budget.available).toBe(1000); // free bytes
    expect(allowance.left).toBe(920);
    await charge.charge(200, signal);
    expect(budget.available).toBe(800); // the 20 free bytes left do not cover it: all charged
    await charge.charge(10_000, signal);
    expect(budget.available).toBe(680); // capped at 400 held, 80 of them free
    charge.release();
    expect(budget.available).toBe(1000);
    expect(allowance.left).toBe(1000);
  });

  it("takes free bytes only where the connection's allowance covers the charge, and charges it otherwise", async () => {
    const budget = new ByteBudget(1000);
    const allowance = new FreeAllowance(150);
    const signal = new AbortController().signal;
    const first = new CallCharge(budget, { allowance, freeBytes: 100, capBytes: 1000, maxWaitMs: WAIT_MS });
    const second = new CallCharge(budget, { allowance, freeBytes: 100, capBytes: 1000, maxWaitMs: WAIT_MS });
    const third = new CallCharge(budget, { allowance, freeBytes: 100, capBytes: 1000, maxWaitMs: WAIT_MS });
    await first.charge(100, signal);
    await second.charge(100, signal); // 50 free bytes left do not cover it: all charged
    await third.charge(100, signal); // all charged
    expect(allowance.left).toBe(50);
    expect(budget.available).toBe(800);
    first.release();
    expect(allowance.left).toBe(150);
    // A call that found the allowance short takes from it once enough is back.
    await third.charge(100, signal);
    expect(allowance.left).toBe(50);
    expect(budget.available).toBe(800);
    second.release();
    third.release();
    expect(allowance.left).toBe(150);
    expect(budget.available).toBe(1000);
  });

  it("tryCharge charges at once when there is room, and otherwise nothing, free bytes included", async () => {
    const budget = new ByteBudget(100);
    const allowance = new FreeAllowance(30);
    const charge = new CallCharge(budget, { allowance, freeBytes: 20, capBytes: 1000, maxWaitMs: WAIT_MS });
    expect(charge.tryCharge(90)).toBe(true); // more than its 20 free bytes: all from the budget
    expect([budget.available, allowance.left]).toEqual([10, 30]);
    const other = new CallCharge(budget, { allowance, freeBytes: 20, capBytes: 1000, maxWaitMs: WAIT_MS });
    expect(other.tryCharge(50)).toBe(false); // 40 more than the budget has
    expect([budget.available, allowance.left]).toEqual([10, 30]);
    expect(other.tryCharge(20)).toBe(true); // free
    expect(other.tryCharge(10)).toBe(true); // its free bytes are used: from the budget
    expect([budget.available, allowance.left]).toEqual([0, 10]);
    charge.release();
    other.release();
    expect([budget.available, allowance.left]).toEqual([100, 30]);
  });

  it("a charge that waits for the budget holds none of its connection's free bytes meanwhile", async () => {
    // Found: four large Reads waiting for the budget on one connection held its whole allowance
    // (each its first 64 KiB), and the connection's small calls then waited behind them.
    const budget = new ByteBudget(100);
    const allowance = new FreeAllowance(64);
    const signal = new AbortController().signal;
    const hog = new CallCharge(budget, { allowance, freeBytes: 0, capBytes: 1000, maxWaitMs: WAIT_MS });
    await hog.charge(100, signal);
    const large = new CallCharge(budget, { allowance, freeBytes: 64, capBytes: 1000, maxWaitMs: WAIT_MS });
    const waiting = large.charge(90, signal);
    expect(allowance.left).toBe(64);
    const small = new CallCharge(budget, { allowance, freeBytes: 64, capBytes: 1000, maxWaitMs: WAIT_MS });
    expect(small.tryCharge(64)).toBe(true);
    hog.release();
    await waiting;
    expect([budget.available, allowance.left]).toEqual([10, 0]);
    large.release();
    small.release();
    expect([budget.available, allowance.left]).toEqual([100, 64]);
  });

  it("a call never holds more than the whole budget, so it never waits on itself", async () => {
    // A Put's cap (2 MiB) above a small budget used to fail every such Put "busy", however idle.
    const budget = new ByteBudget(100);
    const allowance = new FreeAllowance(0);
    const charge = new CallCharge(budget, { allowance, freeBytes: 0, capBytes: 1000, maxWaitMs: 50 });
    const signal = new AbortController().signal;
    await charge.charge(100, signal);
    await charge.charge(500, signal); // past the budget's capacity: nothing more is due
    expect(budget.available).toBe(0);
    charge.release();
    expect(budget.available).toBe(100);
  });

  it("tryCharge does not pass a call already waiting for the budget", async () => {
    const budget = new ByteBudget(100);
    const allowance = new FreeAllowance(0);
    const options = { allowance, freeBytes: 0, capBytes: 1000, maxWaitMs: WAIT_MS };
    const hog = new CallCharge(budget, options);
    await hog.charge(80, new AbortController().signal);
    const waiting = new CallCharge(budget, options).charge(50, new AbortController().signal);
    // 20 bytes are free, but the first in line is owed them: first come, first served.
    expect(new CallCharge(budget, options).tryCharge(10)).toBe(false);
    hog.release();
    await waiting;
    expect(budget.available).toBe(50);
  });

  it("fails with RESOURCE_EXHAUSTED when the budget stays spent for its wait limit", async () => {
    const budget = new ByteBudget(100);
    const allowance = new FreeAllowance(64);
    const hog = new CallCharge(budget, { allowance, freeBytes: 0, capBytes: 1000, maxWaitMs: WAIT_MS });
    await hog.charge(100, new AbortController().signal);
    const late = new CallCharge(budget, { allowance, freeBytes: 0, capBytes: 1000, maxWaitMs: 50 });
    const error = await late.charge(10, new AbortController().signal).catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.ResourceExhausted);
    // Named for castore clients: the server is busy (Unavailable), the call is not too large.
    expect(ConnectError.from(error).metadata.get("castore-error-code")).toBe("Unavailable");
    // A small call (within its free bytes) still passes.
    await new CallCharge(budget, { allowance, freeBytes: 64, capBytes: 1000, maxWaitMs: 50 }).charge(
      64,
      new AbortController().signal,
    );
    hog.release();
    expect(budget.available).toBe(100);
  });
});
