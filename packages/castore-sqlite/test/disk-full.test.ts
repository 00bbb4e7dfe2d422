// A full disk: writes fail with a clear TooLarge error (RESOURCE_EXHAUSTED at the gRPC edge), the
// store still opens and serves reads. On a real tiny filesystem: a tmpfs mounted for the test,
// which needs root; elsewhere the test says why it skips.
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { B3Digest, BlobService } from "castore-core";
import { digestOf, putBlob } from "castore-core";
import { pseudoRandomBytes, readBlob } from "castore-fixtures";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { expectBytes } from "./support/bytes.js";

const SIZE = "4m";
let mountPoint: string | undefined;
let whyNot = "";

// A tiny filesystem of its own for each test.
beforeEach(() => {
  if (process.getuid?.() !== 0) {
    whyNot = "mounting a tmpfs needs root";
    return;
  }
  // Not the shared per-test temporary directory, which is deleted before our afterEach unmounts.
  const dir = mkdtempSync(join(tmpdir(), "castore-sqlite-tiny-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${SIZE},mode=0700`, "tmpfs", dir], { stdio: "pipe" });
    mountPoint = dir;
  } catch (error) {
    whyNot = `mount -t tmpfs is not permitted here: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`;
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Files of this process open under `dir` (a closed store must leave none). */
function openFilesUnder(dir: string): string[] {
  return readdirSync("/proc/self/fd")
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return ""; // closed meanwhile (the listing's own descriptor)
      }
    })
    .filter((target) => target.startsWith(`${dir}/`));
}

afterEach(() => {
  if (!mountPoint) return;
  const dir = mountPoint;
  mountPoint = undefined;
  const open = openFilesUnder(dir);
  try {
    execFileSync("umount", [dir], { stdio: "pipe" });
  } catch (error) {
    // Not left mounted whatever happened; the failure says what held it.
    execFileSync("umount", ["-l", dir]);
    throw new Error(
      `umount ${dir} failed (${error}); files this process still has open there: ${open.join(", ") || "none"}`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  expect(open).toEqual([]);
});

/** A directory on the tiny filesystem, for one store. */
function onTinyDisk(name: string): string {
  const dir = join(mountPoint as string, name);
  mkdirSync(dir);
  return join(dir, "blobs.sqlite");
}

/** Writes a file until the filesystem has no byte left. */
function fillDisk(dir: string): void {
  const filler = join(dir, "filler");
  for (const piece of [Buffer.alloc(64 << 10), Buffer.alloc(1)]) {
    try {
      for (;;) appendFileSync(filler, piece);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
    }
  }
}

async function storeSome(service: BlobService): Promise<{ digest: B3Digest; data: Uint8Array }[]> {
  const blobs = [pseudoRandomBytes(1000, 1), pseudoRandomBytes(200_000, 2)];
  return Promise.all(blobs.map(async (data) => ({ digest: await putBlob(service, data), data })));
}

async function expectReadable(service: BlobService, blobs: { digest: B3Digest; data: Uint8Array }[]): Promise<void> {
  for (const { digest, data } of blobs) {
    expect(await service.has(digest)).toBe(true);
    expectBytes(await readBlob(service, digest), data);
  }
}

describe("a full disk", () => {
  it("a write fails with TooLarge saying the disk is full, stores nothing; the store opens and reads on it", async (context) => {
    if (!mountPoint) {
      console.log(`skipped: ${whyNot}`);
      context.skip();
    }
    const file = onTinyDisk("filled-by-writes");
    const options = { path: file, avgChunkSize: 64 << 10 };
    let service = await openSqliteBlobService(options);
    const stored = await storeSome(service);
    let failure: unknown;
    let lastData: Uint8Array | undefined;
    // 4 MiB of disk: it fills within a dozen 512 KiB blobs.
    for (let i = 0; i < 40 && failure === undefined; i++) {
      lastData = pseudoRandomBytes(512 << 10, 100 + i);
      failure = await putBlob(service, lastData).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    expect(failure).toMatchObject({ code: "TooLarge", message: expect.stringMatching(/disk is full/) });
    expect(await service.has(await digestOf(lastData as Uint8Array))).toBe(false);
    await expectReadable(service, stored);
    await service.close();

    // Closed on a full disk, reopened on a full disk: opening needs no space, reads work, writes
    // still fail clearly.
    fillDisk(join(file, ".."));
    service = await openSqliteBlobService(options);
    await expectReadable(service, stored);
    await expect(putBlob(service, pseudoRandomBytes(512 << 10, 99))).rejects.toMatchObject({ code: "TooLarge" });
    await expectReadable(service, stored);
    await service.close();
  });

  it("a store closed cleanly opens and serves reads after the disk filled up behind its back", async (context) => {
    if (!mountPoint) {
      console.log(`skipped: ${whyNot}`);
      context.skip();
    }
    const file = onTinyDisk("filled-by-others");
    let service = await openSqliteBlobService(file);
    const stored = await storeSome(service);
    await service.close();
    // No room left even for SQLite's 32 KiB shared-memory index.
    fillDisk(join(file, ".."));
    service = await openSqliteBlobService(file);
    await expectReadable(service, stored);
    await expect(putBlob(service, pseudoRandomBytes(512 << 10, 98))).rejects.toMatchObject({ code: "TooLarge" });
    await service.close();
  });
});
