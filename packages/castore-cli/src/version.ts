import { readFileSync } from "node:fs";

/** The package version, read from package.json next to dist/ (and src/, when tests run the sources). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version?: unknown;
  };
  return typeof manifest.version === "string" ? manifest.version : "unknown";
}
