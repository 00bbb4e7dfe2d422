// What is reclaimed (on open and while a store is open), and what must be left alone.
import { hostname } from "node:os";
import { pseudoRandomBytes, readBlob } from "castore-fixtures";
import { describe, expect, it, vi } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { leaseTick, openWithHooks } from "../src/testing.js";
import { expectBytes } from "./support/bytes.js";
import { CONSISTENT, countRows, withConnection } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";

const LEASE = 60_000;

/** Leaves an upload holding two chunks in the file, as a writer that died would; returns its id. */
function leaveUpload(file: string, owner: { host: string; pid: number; token: string }, renewedAt: number): number {
  return withConnection(file, (db) => {
    const id = Number(
      db
        .prepare("INSERT INTO uploads (host, pid, process_token, renewed_at) VALUES (?, ?, ?, ?)")
        .run(owner.host, owner.pid, owner.token, renewedAt).lastInsertRowid,
    );
    for (const seq of [0, 1]) {
      const digest = Buffer.alloc(32, id * 2 + seq);
      db.prepare("INSERT INTO chunks (digest, data) VALUES (?, x'0102')").run(digest);
      db.prepare("INSERT INTO upload_chunks (upload, seq, chunk, size) VALUES (?, ?, ?, 2)").run(id, seq, digest);
    }
    return id;
  });
}

async function newStore(): Promise<string> {
  const file = tempFile();
  await (await openSqliteBlobService(file)).close();
  return file;
}

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const FOREIGN = { host: `not-${hostname()}`, pid: 4242, token: "a process on another host" };

describe("reclaiming uploads on open", () => {
  it("reclaims an upload of an earlier process that had this process's pid", async () => {
    const file = await newStore();
    leaveUpload(file, { host: hostname(), pid: process.pid, token: "an earlier process" }, Date.now());
    expect(countRows(file)).toMatchObject({ uploads: 1, chunks: 2 });
    const service = await openSqliteBlobService(file);
    expect(countRows(file)).toMatchObject({ uploads: 0, chunks: 0 });
    await service.close();
  });

  it("reclaims an upload of another host whose lease lapsed", async () => {
    const file = await newStore();
    leaveUpload(file, FOREIGN, Date.now() - LEASE - 1);
    const service = await openSqliteBlobService({ path: file, uploadLease: LEASE });
    expect(countRows(file)).toMatchObject({ uploads: 0, chunks: 0, orphanChunks: 0 });
    await service.close();
  });

  it("leaves an upload of another host alone while its lease runs (its owner may be writing)", async () => {
    const file = await newStore();
    leaveUpload(file, FOREIGN, Date.now());
    const service = await openSqliteBlobService({ path: file, uploadLease: LEASE });
    expect(countRows(file)).toMatchObject({ uploads: 1, chunks: 2 });
    await service.close();
  });

  it("a reused pid (a live process that is not the owner) keeps an upload only until its lease lapses", async () => {
    const file = await newStore();
    // The parent of this process runs, but it is not the process that started these uploads.
    const reused = { host: hostname(), pid: process.ppid, token: "a dead process that had this pid" };
    const fresh = leaveUpload(file, reused, Date.now());
    leaveUpload(file, reused, Date.now() - LEASE - 1);
    const service = await openSqliteBlobService({ path: file, uploadLease: LEASE });
    expect(withConnection(file, (db) => db.prepare("SELECT id FROM uploads").pluck().all())).toEqual([fresh]);
    expect(countRows(file)).toMatchObject({ uploads: 1, chunks: 2, orphanChunks: 0 });
    await service.close();
  });

  it("leaves a live upload of this process alone when another service opens the file", async () => {
    const file = tempFile();
    const first = await openSqliteBlobService({ path: file, avgChunkSize: 1024 });
    const data = pseudoRandomBytes(4096 * 5 + 9, 21);
    const writer = await first.openWrite();
    await writer.write(data.subarray(0, 4096 * 3));
    const held = countRows(file).chunks;
    expect(held).toBeGreaterThan(0);
    expect(countRows(file)).toMatchObject({ uploads: 1 });

    const second = await openSqliteBlobService({ path: file, avgChunkSize: 1024 });
    expect(countRows(file)).toMatchObject({ uploads: 1, chunks: held });
    await writer.write(data.subarray(4096 * 3));
    const digest = await writer.close();
    expectBytes(await readBlob(second, digest), data);
    await first.close();
    await second.close();
  });
});

describe("upload leases", () => {
  it("a writer's lease is renewed while it lives, so a process elsewhere never reclaims it; a lapsed one is", async () => {
    const file = tempFile();
    const clock = manualClock();
    const options = { path: file, avgChunkSize: 1024, uploadLease: LEASE };
    // A writer on another host and a store here, on one clock the test moves; no timers.
    const elsewhere = await openWithHooks(options, { now: clock.now, owner: FOREIGN, leaseTimer: false });
    const here = await openWithHooks(options, { now: clock.now, leaseTimer: false });
    const data = pseudoRandomBytes(4096 * 4 + 1, 7);

    const live = await elsewhere.openWrite();
    await live.write(data.subarray(0, 4096 * 2));
    for (let i = 0; i < 5; i++) {
      clock.advance(LEASE / 2);
      await leaseTick(elsewhere); // its owner renews...
      await leaseTick(here); // ...so the other's sweeps leave it alone
    }
    expect(countRows(file)).toMatchObject({ uploads: 1, orphanChunks: 0 });
    expect(countRows(file).chunks).toBeGreaterThan(0);
    await live.write(data.subarray(4096 * 2));
    const digest = await live.close();
    expectBytes(await readBlob(here, digest), data);
    const committed = countRows(file).chunks;

    // An owner that stops renewing (hung, or its host died) loses the upload once the lease lapses.
    const stalled = await elsewhere.openWrite();
    await stalled.write(data.subarray(0, 4096 * 2));
    clock.advance(LEASE - 1);
    await leaseTick(here);
    expect(countRows(file)).toMatchObject({ uploads: 1 });
    clock.advance(2);
    await leaseTick(here);
    // Only the committed blob's chunks are left.
    expect(countRows(file)).toMatchObject({ uploads: 0, chunks: committed, orphanChunks: 0 });
    // Its writer then fails cleanly and stores nothing.
    await expect(stalled.write(data.subarray(4096 * 2, 4096 * 3))).rejects.toMatchObject({
      code: "Backend",
      message: /reclaimed/,
    });
    await expect(stalled.close()).rejects.toBeDefined();
    expect(countRows(file)).toMatchObject({ blobs: 1, uploads: 0, orphanChunks: 0 });
    await elsewhere.close();
    await here.close();
  });

  it("a writer whose upload was reclaimed mid-blob leaves no pack behind", async () => {
    const file = tempFile();
    const clock = manualClock();
    const options = { path: file, avgChunkSize: 4096, uploadLease: LEASE };
    // Chunks in packs of about 16 KiB: the writer has created several when its lease lapses.
    const hooks = { now: clock.now, leaseTimer: false, chunkFileMinBytes: 0, packBytes: 16 * 1024 };
    const elsewhere = await openWithHooks(options, { ...hooks, owner: FOREIGN });
    const here = await openWithHooks(options, hooks);
    const data = pseudoRandomBytes(256 * 1024, 8);
    const stalled = await elsewhere.openWrite();
    await stalled.write(data.subarray(0, 128 * 1024));
    const packs = () =>
      withConnection(file, (db) => db.prepare<[], number>("SELECT count(*) FROM packs").pluck().get());
    expect(packs()).toBeGreaterThan(2);
    clock.advance(LEASE + 1);
    await leaseTick(here);
    expect(countRows(file)).toMatchObject({ ...CONSISTENT, chunks: 0 });
    expect(packs()).toBe(0);
    await expect(stalled.write(data.subarray(128 * 1024))).rejects.toMatchObject({ message: /reclaimed/ });
    await expect(stalled.close()).rejects.toBeDefined();
    expect(countRows(file)).toMatchObject({ ...CONSISTENT, chunks: 0 });
    await elsewhere.close();
    await here.close();
  });

  it("the lease timer renews a live writer's lease and reclaims lapsed uploads without a reopen", async () => {
    const file = tempFile();
    const service = await openSqliteBlobService({ path: file, avgChunkSize: 1024, uploadLease: 40 });
    const writer = await service.openWrite();
    await writer.write(pseudoRandomBytes(4096 * 2, 3));
    const renewedAt = () =>
      withConnection(file, (db) => db.prepare<[], number>("SELECT renewed_at FROM uploads").pluck().all());
    const [first] = renewedAt();
    await vi.waitFor(() => expect(renewedAt()[0]).toBeGreaterThan(first as number), { timeout: 30_000 });

    leaveUpload(file, FOREIGN, Date.now() - 1000);
    await vi.waitFor(() => expect(countRows(file).uploads).toBe(1), { timeout: 30_000 });
    // The one left is the live writer's, which still commits.
    await writer.write(pseudoRandomBytes(10, 4));
    await writer.close();
    expect(countRows(file)).toMatchObject({ blobs: 1, uploads: 0, orphanChunks: 0 });
    await service.close();
  });
});
