import { expect } from "vitest";

/**
 * Asserts two byte arrays are equal. Much faster than toEqual on large arrays, and on a mismatch
 * it names the first differing offset instead of printing megabytes of diff.
 */
export function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array, what = "bytes"): void {
  expect(actual, `${what}: got nothing`).toBeInstanceOf(Uint8Array);
  const a = Buffer.from(
    (actual as Uint8Array).buffer,
    (actual as Uint8Array).byteOffset,
    (actual as Uint8Array).length,
  );
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.length);
  if (a.equals(b)) return;
  let at = 0;
  while (at < Math.min(a.length, b.length) && a[at] === b[at]) at++;
  expect.fail(`${what}: ${a.length} bytes where ${b.length} were expected, first difference at offset ${at}`);
}
