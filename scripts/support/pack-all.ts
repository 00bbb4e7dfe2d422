// Global setup for the workspace-level tests: packs every publishable package once, the way a
// release would (`pnpm pack` rewrites workspace: and catalog: ranges to real versions), and hands
// the tarballs' paths to the tests.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

export const root = join(import.meta.dirname, "..", "..");

export interface PackedPackage {
  name: string;
  dir: string;
  tarball: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    packed: PackedPackage[];
  }
}

/** The workspace's packages that a release publishes (everything not marked private). */
export function publishablePackages(): { name: string; dir: string }[] {
  const packagesDir = join(root, "packages");
  return readdirSync(packagesDir)
    .map((entry) => join(packagesDir, entry))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) }))
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ dir, manifest }) => ({ name: manifest.name as string, dir }));
}

export default function setup(project: TestProject) {
  const destination = mkdtempSync(join(tmpdir(), "castore-packed-"));
  const packed = publishablePackages().map(({ name, dir }) => {
    const output = execFileSync("pnpm", ["pack", "--json", "--pack-destination", destination], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    return { name, dir, tarball: JSON.parse(output).filename as string };
  });
  project.provide("packed", packed);
  return () => rmSync(destination, { recursive: true, force: true });
}
