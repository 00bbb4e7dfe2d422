// A downstream project, outside the workspace, installs the packed tarballs as a user would (npm,
// from the tarballs a release publishes) and compiles against their declarations with plain `tsc`
// (strict, skipLibCheck off): on TypeScript 5.9 and the latest release, with NodeNext and bundler
// resolution, with `"types": ["node"]` and without it (TypeScript 6 and later load no @types unless
// asked, so the Node-only packages must bring Node's types themselves), and castore-core alone in a
// browser project (lib ES2022 + DOM, no Node types at all). The Node projects keep the default lib
// for their target (ES2022 with DOM), which Connect's declarations need for Headers.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const run = promisify(execFile);
const packed = inject("packed");

/** The TypeScript releases a consumer may compile with: the oldest we support and the newest. */
const TYPESCRIPTS = { "5.9": "~5.9.3", latest: "latest" } as const;

/** Imports every public entry point, so that tsc checks every declaration file a user can reach. */
const NODE_CONSUMER = `
import * as core from "castore-core";
import * as coreBackend from "castore-core/backend";
import * as coreNode from "castore-core/node";
import * as memory from "castore-memory";
import * as memoryTesting from "castore-memory/testing";
import * as sqlite from "castore-sqlite";
import * as sqliteTesting from "castore-sqlite/testing";
import * as grpc from "castore-grpc";
import * as grpcWeb from "castore-grpc/web";
import * as objectstore from "castore-objectstore";
import * as cache from "castore-cache";
import * as fixtures from "castore-fixtures";
import * as cli from "castore-cli";

export const modules = [
  core,
  coreBackend,
  coreNode,
  memory,
  memoryTesting,
  sqlite,
  sqliteTesting,
  grpc,
  grpcWeb,
  objectstore,
  cache,
  fixtures,
  cli,
];
export async function roundTrip(service: core.BlobService): Promise<core.B3Digest> {
  return core.putBlob(service, new TextEncoder().encode("Hello World!"));
}
`;

const BROWSER_CONSUMER = `
import * as core from "castore-core";
import * as backend from "castore-core/backend";

export const reader = (digest: core.B3Digest, bytes: Uint8Array): core.BlobReader => new backend.BytesReader(digest, bytes);

export async function roundTrip(service: core.BlobService): Promise<Uint8Array | undefined> {
  const digest = await core.putBlob(service, new TextEncoder().encode("Hello World!"));
  return core.getBlob(service, digest);
}
`;

const RESOLUTIONS = {
  NodeNext: { module: "NodeNext", moduleResolution: "NodeNext" },
  bundler: { module: "ESNext", moduleResolution: "bundler" },
} as const;

let project: string;

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), "castore-consumer-"));
  const tarballs = Object.fromEntries(packed.map(({ name, tarball }) => [name, `file:${tarball}`]));
  const typescripts = Object.fromEntries(
    Object.entries(TYPESCRIPTS).map(([name, range]) => [`typescript-${name}`, `npm:typescript@${range}`]),
  );
  const manifest = {
    name: "castore-consumer",
    private: true,
    type: "module",
    dependencies: { ...tarballs, "@types/node": "^24.10.0", ...typescripts },
    // The packages depend on each other by version; these versions are the tarballs, not the registry.
    overrides: tarballs,
  };
  writeFileSync(join(project, "package.json"), JSON.stringify(manifest, null, 2));
  // Install scripts are not needed to compile (and the native addons are not what is checked here).
  await run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], {
    cwd: project,
  });
});

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

/** Writes a project directory with one source file and its tsconfig, and compiles it. */
async function compile(name: string, source: string, compilerOptions: Record<string, unknown>, typescript: string) {
  const dir = join(project, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "consumer.ts"), source);
  const tsconfig = {
    compilerOptions: { target: "ES2022", strict: true, skipLibCheck: false, noEmit: true, ...compilerOptions },
    files: ["consumer.ts"],
  };
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
  const tsc = join(project, "node_modules", `typescript-${typescript}`, "bin", "tsc");
  const result = await run(process.execPath, [tsc, "-p", dir], { cwd: dir }).catch(
    (error: { stdout?: string; stderr?: string }) => error,
  );
  return `${result.stdout ?? ""}${result.stderr ?? ""}`.trim();
}

describe.each(Object.keys(TYPESCRIPTS) as (keyof typeof TYPESCRIPTS)[])("a consumer on TypeScript %s", (typescript) => {
  describe.each(Object.keys(RESOLUTIONS) as (keyof typeof RESOLUTIONS)[])("with %s resolution", (resolution) => {
    it.each([
      ["with Node's types", ["node"]],
      ["without Node's types", []],
    ])("compiles against every package %s", async (label, types) => {
      const name = `node-${typescript}-${resolution}-${types.length}`;
      const options = { ...RESOLUTIONS[resolution], types };
      expect(await compile(name, NODE_CONSUMER, options, typescript), label).toBe("");
    });

    it("compiles against castore-core and castore-core/backend in a browser project (lib ES2022 + DOM)", async () => {
      const name = `browser-${typescript}-${resolution}`;
      const options = { ...RESOLUTIONS[resolution], lib: ["ES2022", "DOM"], types: [] };
      expect(await compile(name, BROWSER_CONSUMER, options, typescript)).toBe("");
    });
  });
});
