import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

const dirs: string[] = [];

/** A fresh directory for this test, deleted after it. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "castore-sqlite-test-"));
  dirs.push(dir);
  return dir;
}

/** A path for a new store file in a fresh directory. */
export function tempFile(name = "blobs.sqlite"): string {
  return join(tempDir(), name);
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
