import { describe, expect, it } from "vitest";
import { ChunkListSealer, sealOf } from "../src/backend.js";
import { type B3Digest, blake3, digestOf, isInvalidArgument, isInvalidDigest } from "../src/index.js";

const digestOfText = (text: string) => digestOf(new TextEncoder().encode(text));

describe("chunk list seals", async () => {
  const implementation = await blake3();
  const a = await digestOfText("a");
  const b = await digestOfText("b");
  const blob = await digestOfText("ab");
  const list = [
    { digest: a, size: 1 },
    { digest: b, size: 1 },
  ];
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

  it("is the same whether added one by one or all at once, and 32 bytes long", () => {
    const sealer = new ChunkListSealer(implementation);
    sealer.add(a.unsafeBytes, 1);
    sealer.add(b, 1);
    const seal = sealer.seal(blob, 2);
    expect(seal.length).toBe(32);
    expect(hex(sealOf(implementation, list, blob, 2))).toBe(hex(seal));
  });

  it("changes with the order, any digest, any length, the blob and the blob's size", async () => {
    const base = hex(sealOf(implementation, list, blob, 2));
    const variants = [
      sealOf(implementation, [...list].reverse(), blob, 2),
      sealOf(implementation, [list[0] as { digest: B3Digest; size: number }], blob, 2),
      sealOf(
        implementation,
        [
          { digest: a, size: 1 },
          { digest: a, size: 1 },
        ],
        blob,
        2,
      ),
      sealOf(
        implementation,
        [
          { digest: a, size: 2 },
          { digest: b, size: 1 },
        ],
        blob,
        2,
      ),
      sealOf(implementation, list, await digestOfText("ba"), 2),
      sealOf(implementation, list, blob, 3),
    ].map(hex);
    for (const variant of variants) expect(variant).not.toBe(base);
    expect(new Set(variants).size).toBe(variants.length);
  });

  it("hashes a domain line, then each digest and little-endian u64 length, then the blob's (the stored layout)", async () => {
    const u64 = (n: number) => {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(n), true);
      return bytes;
    };
    const body = Buffer.concat([a.unsafeBytes, u64(1), b.unsafeBytes, u64(1), blob.unsafeBytes, u64(2)]);
    const domain = new TextEncoder().encode("castore chunk list seal v1\n");
    const seal = hex(sealOf(implementation, list, blob, 2));
    expect(seal).toBe((await digestOf(Buffer.concat([domain, body]))).toHex());
    // Never the digest of some blob made of the same entries.
    expect(seal).not.toBe((await digestOf(body)).toHex());
  });

  it("refuses a malformed entry", () => {
    const sealer = new ChunkListSealer(implementation);
    expect(() => sealer.add(new Uint8Array(31), 1)).toThrow(expect.objectContaining({ code: "InvalidDigest" }));
    let error: unknown;
    try {
      sealer.add(a, 0);
    } catch (caught) {
      error = caught;
    }
    expect(isInvalidArgument(error) || isInvalidDigest(error)).toBe(true);
    sealer.dispose();
  });
});
