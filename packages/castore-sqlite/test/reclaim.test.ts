// What an open reclaims, and what it must leave alone.
import { hostname } from "node:os";
import { pseudoRandomBytes } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { expectBytes } from "./support/bytes.js";
import { CHUNK_ID, countRows, withConnection } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";

/** Leaves an upload with two chunk rows in the file, as a writer that died would. */
function leaveUpload(file: string, owner: { host: string; pid: number; token: string }): void {
  withConnection(file, (db) => {
    const id = db
      .prepare("INSERT INTO uploads (host, pid, process_token, started_at) VALUES (?, ?, ?, 0)")
      .run(owner.host, owner.pid, owner.token).lastInsertRowid;
    const insert = db.prepare(
      `INSERT INTO chunks (id, hash, running, data) VALUES (${CHUNK_ID}, x'00', x'00', x'0102')`,
    );
    insert.run(id, 0);
    insert.run(id, 1);
  });
}

describe("reclaiming uploads on open", () => {
  it("reclaims an upload of an earlier process that had this process's pid", async () => {
    const file = tempFile();
    await (await openSqliteBlobService(file)).close();
    leaveUpload(file, { host: hostname(), pid: process.pid, token: "an earlier process" });
    expect(countRows(file)).toMatchObject({ uploads: 1, chunks: 2 });
    const service = await openSqliteBlobService(file);
    expect(countRows(file)).toMatchObject({ uploads: 0, chunks: 0 });
    await service.close();
  });

  it("leaves uploads of other hosts alone (their owners may be running)", async () => {
    const file = tempFile();
    await (await openSqliteBlobService(file)).close();
    leaveUpload(file, { host: `not-${hostname()}`, pid: 1, token: "elsewhere" });
    const service = await openSqliteBlobService(file);
    expect(countRows(file)).toMatchObject({ uploads: 1, chunks: 2 });
    await service.close();
  });

  it("leaves a live upload of this process alone when another service opens the file", async () => {
    const file = tempFile();
    const first = await openSqliteBlobService({ path: file, chunkSize: 4096 });
    const data = pseudoRandomBytes(4096 * 5 + 9, 21);
    const writer = await first.openWrite();
    await writer.write(data.subarray(0, 4096 * 3));
    expect(countRows(file)).toMatchObject({ uploads: 1, chunks: 3 });

    const second = await openSqliteBlobService({ path: file, chunkSize: 4096 });
    expect(countRows(file)).toMatchObject({ uploads: 1, chunks: 3 });
    await writer.write(data.subarray(4096 * 3));
    const digest = await writer.close();
    const reader = await second.openRead(digest);
    const chunks: Uint8Array[] = [];
    for await (const chunk of reader ?? []) chunks.push(chunk);
    expectBytes(Buffer.concat(chunks), data);
    await first.close();
    await second.close();
  });
});
