import { readFile, writeFile } from "node:fs/promises";
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
