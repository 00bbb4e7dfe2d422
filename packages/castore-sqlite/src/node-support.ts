import { UnsupportedError } from "castore-core";

/** The Node versions castore-sqlite runs on (package.json's engines say the same). */
export const SUPPORTED_NODE = "^22.12.0 || ^24.0.0 || >=26.0.0";

/**
 * Refuses to open a store on a Node that better-sqlite3 has no build for. Its native addon does not
 * fail to load there: it crashes the whole process (a segfault) on the first open, and npm only
 * warns about the engines mismatch at install time. So the check runs before anything touches it.
 */
export function assertSupportedNode(version: string = process.versions.node): void {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const supported = major === 22 ? minor >= 12 : major === 24 || major >= 26;
  if (!supported) {
    throw new UnsupportedError(
      `castore-sqlite needs Node ${SUPPORTED_NODE}; this is Node ${version} (its SQLite binding, better-sqlite3, would crash the process)`,
    );
  }
}
