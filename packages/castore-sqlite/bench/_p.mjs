import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import Database from "better-sqlite3";
import { putBlob } from "castore-core";
import { openSqliteBlobService } from "../dist/index.js";

const MiB = 1 << 20,
  N = 256;
const blobs = Array.from({ length: N }, () => randomBytes(MiB));
const sync = process.argv[2];
const res = {};
for (let r = 0; r < 4; r++)
  for (const mode of ["ours", "raw"]) {
    const dir = mkdtempSync("/tmp/sqlexp/d-");
    let run, close;
    if (mode === "ours") {
      const s = await openSqliteBlobService({ path: dir + "/b.sqlite", synchronous: sync });
      run = async () => {
        for (const b of blobs) await putBlob(s, b);
      };
      close = () => s.close();
    } else {
      const db = new Database(dir + "/r.sqlite");
      db.pragma("page_size=65536");
      db.pragma("journal_mode=WAL");
      db.pragma("synchronous=" + sync);
      db.exec("create table b(id integer primary key, data blob)");
      const st = db.prepare("insert into b values (?, ?)");
      run = async () => {
        blobs.forEach((b, i) => st.run(i, b));
      };
      close = () => db.close();
    }
    const t = performance.now();
    await run();
    (res[mode] ??= []).push(((N * MiB) / (performance.now() - t) / 1e6).toFixed(2));
    await close();
    rmSync(dir, { recursive: true });
  }
console.log(sync, res);
