// The snix.castore.v1 proto is the tvix.castore.v1 proto under another package name (docs/design.md §5):
// the two files must never drift apart, or one of the names would speak a different protocol.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const protos = join(import.meta.dirname, "..", "..", "..", "protos");
/** The proto's declarations without comments, with its package name neutralised. */
const declarations = (name: string) =>
  readFileSync(join(protos, name, "castore", "v1", "castore.proto"), "utf8")
    .replace(/\/\/.*$/gm, "")
    .replaceAll(`${name}.castore.v1`, "PACKAGE")
    .replace(/\s+/g, " ")
    .trim();

it("snix.castore.v1 declares exactly what tvix.castore.v1 declares", () => {
  expect(declarations("tvix")).toContain("package PACKAGE;");
  expect(declarations("snix")).toBe(declarations("tvix"));
});
