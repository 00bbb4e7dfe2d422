#!/usr/bin/env node
// The entry point behind `npm start`, `npm test`, `npm run castore` and `npm run bench`.
//
// It must run on a machine that has only an old Node (20) and npm: when the running Node is too old
// or pnpm is not the one driving, it installs a supported Node and the pinned pnpm from the npm
// registry into .toolchain/ (once), installs the workspace with that pnpm, and re-runs itself on the
// new Node. Under pnpm on a supported Node it does the real work directly, so
// `pnpm install && pnpm test` works for people who already have the tools.
//
// Plain JavaScript with no dependencies: it runs before anything is installed.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { clearResults, summarizeResults } from "./bench-results.mjs";
import { DAEMON_NODE_FLAGS } from "./daemon-node-flags.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const NODE_VERSION = "24.21.0";
const PNPM_VERSION = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager.split("@")[1];
const isSupported = (major) => major === 22 || major === 24 || major >= 26;
/** Set by the bootstrap when it re-runs this script on the toolchain's Node with the workspace installed. */
const READY = "CASTORE_WORKSPACE_READY";

const [task = "test", ...rawArgs] = process.argv.slice(2);
// `pnpm start -- --flag` hands us the "--" itself (npm strips it); the daemon must not see it.
const args = rawArgs[0] === "--" ? rawArgs.slice(1) : rawArgs;
const nodeMajor = Number(process.versions.node.split(".")[0]);
// turbo would try to phone home; nothing outside the npm registry is reachable on our machines.
process.env.TURBO_TELEMETRY_DISABLED = "1";
process.env.DO_NOT_TRACK = "1";
const underPnpm = (process.env.npm_config_user_agent ?? "").startsWith("pnpm/");
const bin = (name) => join(root, "node_modules", ".bin", name);
/** stdio that keeps our stdout for the command's own output (a digest, a blob's bytes). */
const chatterToStderr = ["inherit", process.stderr, "inherit"];

function run(command, commandArgs, { env = process.env, stdio = "inherit" } = {}) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio, env });
  if (result.error) throw result.error;
  if (result.signal) process.kill(process.pid, result.signal);
  return result.status ?? 1;
}

function runOrExit(command, commandArgs, options) {
  const status = run(command, commandArgs, options);
  if (status !== 0) process.exit(status);
}

/**
 * Runs a long-lived child (the daemon) and passes SIGTERM and SIGHUP on to it, so a supervisor that
 * signals only this process still stops the daemon gracefully. SIGINT is not passed on: Ctrl-C
 * reaches the whole foreground process group already, and a second SIGINT would cut the daemon's
 * graceful shutdown short. Exits with the child's status (or its signal).
 */
function handOver(command, commandArgs, env = process.env) {
  const child = spawn(command, commandArgs, { cwd: root, stdio: "inherit", env });
  const forward = (signal) => child.kill(signal);
  const ignore = () => {};
  process.on("SIGTERM", forward);
  process.on("SIGHUP", forward);
  process.on("SIGINT", ignore);
  child.on("error", (error) => {
    console.error(`castore: cannot start ${command}: ${error.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    process.off("SIGTERM", forward);
    process.off("SIGHUP", forward);
    process.off("SIGINT", ignore);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

/**
 * A digest of the files (and directories, recursively) under `paths`, by path and content, so that
 * install and build run only when something they depend on changed. Missing paths count as empty.
 */
function fingerprint(paths, extra = "") {
  const hash = createHash("sha256").update(extra);
  const visit = (relative) => {
    const absolute = join(root, relative);
    if (!existsSync(absolute)) return;
    if (statSync(absolute).isDirectory()) {
      for (const entry of readdirSync(absolute).sort()) visit(join(relative, entry));
      return;
    }
    hash.update(`${relative}\0`).update(readFileSync(absolute)).update("\0");
  };
  for (const path of paths) visit(path);
  return hash.digest("hex");
}

/** Whether `stampFile` records `value`; `record()` writes it once the work succeeded. */
function stamp(stampFile, value) {
  const current = existsSync(stampFile) ? readFileSync(stampFile, "utf8") : "";
  return { fresh: current === value, record: () => writeFileSync(stampFile, value) };
}

const packageDirs = () => readdirSync(join(root, "packages")).map((name) => join("packages", name));

/** What `pnpm install` depends on: the lockfile, the manifests and the workspace settings. */
const installInputs = () => [
  "pnpm-lock.yaml",
  "pnpm-workspace.yaml",
  "package.json",
  ".npmrc",
  ...packageDirs().map((dir) => join(dir, "package.json")),
];

/** What building the CLI (and every package it depends on) depends on. */
const buildInputs = () => [
  ...installInputs(),
  "tsconfig.base.json",
  "protos",
  ...packageDirs().flatMap((dir) =>
    ["src", "tsconfig.json", "tsconfig.build.json", "tsconfig.build-node.json", "buf.gen.yaml"].map((entry) =>
      join(dir, entry),
    ),
  ),
];

/** Builds the CLI and what it depends on, unless nothing they are built from changed since the last build. */
function buildCliIfChanged() {
  const built = stamp(join(root, "node_modules", ".castore-build-stamp"), fingerprint(buildInputs(), process.version));
  const binary = join(root, "packages", "castore-cli", "dist", "bin.js");
  if (built.fresh && existsSync(binary) && packageDirs().every((dir) => existsSync(join(root, dir, "dist")))) return;
  runOrExit(bin("turbo"), ["run", "build", "--filter=castore-cli...", "--output-logs=errors-only"], {
    stdio: chatterToStderr,
  });
  built.record();
}

/** The real work, on a supported Node with the workspace installed. */
function work() {
  switch (task) {
    case "test":
      runOrExit(process.execPath, [join(root, "scripts", "test.mjs"), ...args]);
      return;
    case "bench": {
      // Every package's benchmark records its headline rows; the summary table comes last, even
      // when a benchmark failed, so the figures that were measured are not lost.
      clearResults();
      const status = run(bin("turbo"), ["run", "bench", "--concurrency=1", "--output-logs=full", ...args]);
      summarizeResults();
      process.exit(status);
      return;
    }
    case "start":
    case "castore": {
      buildCliIfChanged();
      const castore = join(root, "packages", "castore-cli", "dist", "bin.js");
      const command = task === "start" ? [...DAEMON_NODE_FLAGS, castore, "daemon", ...args] : [castore, ...args];
      handOver(process.execPath, command);
      return;
    }
    default:
      console.error(`dev.mjs: unknown task ${task} (expected test, bench, start or castore)`);
      process.exit(2);
  }
}

/** Installs Node and pnpm from the npm registry into .toolchain/, unless the right ones are there. */
function ensureToolchain() {
  const dir = join(root, ".toolchain");
  const stamp = join(dir, "versions.json");
  const wanted = JSON.stringify({ node: NODE_VERSION, pnpm: PNPM_VERSION });
  if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== wanted) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), '{ "private": true }\n');
    console.error(`castore: installing Node ${NODE_VERSION} and pnpm ${PNPM_VERSION} into .toolchain/ (once)`);
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const packages = [`node@${NODE_VERSION}`, `pnpm@${PNPM_VERSION}`];
    runOrExit(
      npm,
      ["install", "--prefix", dir, "--no-save", "--no-audit", "--no-fund", "--loglevel=error", ...packages],
      {
        stdio: chatterToStderr,
      },
    );
    writeFileSync(stamp, wanted);
  }
  return { nodeBin: join(dir, "node_modules", "node", "bin"), binDir: join(dir, "node_modules", ".bin") };
}

if (isSupported(nodeMajor) && (underPnpm || process.env[READY] === "1")) {
  work();
} else {
  const { nodeBin, binDir } = ensureToolchain();
  // The new Node first on PATH so turbo, vitest and every child process run on it, and pnpm next
  // to it (turbo looks the package manager up on PATH).
  const env = { ...process.env, PATH: [nodeBin, binDir, process.env.PATH ?? ""].join(delimiter), [READY]: "1" };
  // npm may trust a custom CA through its own config (cafile) where pnpm, which does not read
  // npm's global config, would fail on TLS: hand the same file to Node for every child process.
  const cafile = process.env.npm_config_cafile;
  if (!env.NODE_EXTRA_CA_CERTS && cafile && cafile !== "null") env.NODE_EXTRA_CA_CERTS = cafile;
  // Installing again when nothing it depends on changed costs seconds and noise on every command.
  const installed = stamp(
    join(root, "node_modules", ".castore-install-stamp"),
    fingerprint(installInputs(), `${NODE_VERSION} ${PNPM_VERSION}`),
  );
  if (!installed.fresh) {
    runOrExit(join(binDir, "pnpm"), ["install", "--frozen-lockfile", "--reporter=append-only"], {
      env,
      stdio: chatterToStderr,
    });
    installed.record();
  }
  handOver(join(nodeBin, "node"), [fileURLToPath(import.meta.url), task, ...args], env);
}
