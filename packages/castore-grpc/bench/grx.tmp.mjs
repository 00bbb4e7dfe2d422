// node grx.tmp.mjs tcp|unix N [prof]: fresh castore and raw read clients against servers.mjs, CPU per client
import { fork } from "node:child_process";
import { once } from "node:events";
import * as http2 from "node:http2";
import { B3Digest, blake3 } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { readdirSync, readFileSync } from "node:fs";
function snap(pid) {
  const m = new Map();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      const name = s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"));
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      m.set(t, { name, c: (+f[11] + +f[12]) / 100 });
    } catch {}
  }
  return m;
}
const diff = (a, b) => [...b].map(([k, v]) => [v.name, v.c - (a.get(k)?.c ?? 0)]).filter(([, c]) => c > 0.02).map(([n, c]) => `${n}:${c.toFixed(2)}`).join(" ");
const MiB = 1 << 20;
const total = 1024 * MiB;
const env = { ...process.env, BENCH_BYTES: String(total) };
const srv = fork(new URL("./servers.mjs", import.meta.url), ["raw", "castore"], { env, stdio: "inherit" });
const [{ addresses }] = await once(srv, "message");
const block = pseudoRandomBytes(MiB, 42);
const h = (await blake3()).createHasher();
for (let i = 0; i < total / MiB; i++) h.update(block);
const digest = B3Digest.fromBytes(h.digest()).toString();
const [transport, n, prof] = process.argv.slice(2);
const extra = prof ? ["--cpu-prof", "--cpu-prof-dir=/tmp/exp/gprof"] : [];
for (let i = 0; i < Number(n ?? 2); i++) {
  for (const kind of ["raw", "castore"]) {
    const s0 = snap(srv.pid);
    const t0 = performance.now();
    let child;
    if (kind === "castore") {
      const a = addresses.castore[transport];
      child = fork(new URL("./castore-client.mjs", import.meta.url), ["read", a, digest], { env, execArgv: extra });
      await once(child, "message");
    } else {
      child = fork(new URL("./rawc.tmp.mjs", import.meta.url), [transport, addresses.raw[transport]], { env, execArgv: extra });
      await once(child, "message");
    }
    const wall = (performance.now() - t0) / 1000;
    child.disconnect?.();
    await once(child, "exit").catch(() => {});
    console.log(kind, transport, `${(total / wall / 1e9).toFixed(2)} GB/s (incl. start)`, "server:", diff(s0, snap(srv.pid)));
  }
}
srv.kill();
