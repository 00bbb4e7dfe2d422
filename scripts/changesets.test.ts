// Every pending changeset must be one `pnpm changeset version` can read: YAML front matter of
// `"package": bump` lines between two `---` lines, naming packages of this workspace. (A Markdown
// formatter once turned the front matter into a heading; changesets then fails on release day.)
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "./support/pack-all.js";

const directory = join(root, ".changeset");
const packages = new Set(
  readdirSync(join(root, "packages")).map(
    (dir) => JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8")).name as string,
  ),
);
const changesets = readdirSync(directory).filter((file) => file.endsWith(".md") && file !== "README.md");

describe("changesets", () => {
  it.each(changesets)("%s has front matter changesets can read, naming workspace packages", (file) => {
    const text = readFileSync(join(directory, file), "utf8");
    const match = /^---\n((?:"[^"\n]+": (?:major|minor|patch)\n)+)---\n\n\S/.exec(text);
    expect(match, `${file} must start with ---, "package": bump lines, --- and a blank line`).not.toBeNull();
    for (const line of (match?.[1] ?? "").trimEnd().split("\n")) {
      expect(packages).toContain(/^"([^"]+)"/.exec(line)?.[1]);
    }
  });
});
