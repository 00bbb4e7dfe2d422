import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BLOB_B, BLOB_C, EMPTY, type Fixture, HELLOWORLD } from "castore-fixtures";

/**
 * Flips one byte of `needle` where it occurs in `file` (and returns whether it did). Tests use it
 * to corrupt a stored blob without knowing the store's layout: they store bytes with a distinctive
 * stretch, and look for that stretch in the database file.
 */
export async function corruptInFile(file: string, needle: Uint8Array): Promise<boolean> {
  const bytes = await readFile(file).catch(() => undefined);
  if (!bytes) return false;
  const at = bytes.indexOf(needle);
  if (at < 0) return false;
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  await writeFile(file, bytes);
  return true;
}

/**
 * Flips a byte where `needle` starts in a SQLite store's files: its database file, its write-ahead
 * log, then its chunk files and packs (under `<file>-chunks/`). False when no file holds it.
 */
export async function corruptInStore(file: string, needle: Uint8Array): Promise<boolean> {
  const chunkDir = `${file}-chunks`;
  const chunkFiles = (await readdir(chunkDir, { recursive: true, withFileTypes: true }).catch(() => []))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
  for (const candidate of [file, `${file}-wal`, ...chunkFiles]) {
    if (await corruptInFile(candidate, needle)) return true;
  }
  return false;
}

/** The fixtures the end-to-end tests store: empty, tiny, about 1 MiB, and 5 MiB (several chunks). */
export const FILE_FIXTURES: readonly Fixture[] = [EMPTY, HELLOWORLD, BLOB_B, BLOB_C];

/** Writes each of FILE_FIXTURES to `<dir>/<NAME>.bin` and returns the paths by fixture name. */
export async function writeFixtureFiles(dir: string): Promise<Record<string, string>> {
  const paths: Record<string, string> = {};
  for (const fixture of FILE_FIXTURES) {
    const path = join(dir, `${fixture.name}.bin`);
    await writeFile(path, fixture.data);
    paths[fixture.name] = path;
  }
  return paths;
}
