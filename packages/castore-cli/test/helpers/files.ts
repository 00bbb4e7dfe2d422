import { readFile, writeFile } from "node:fs/promises";

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
