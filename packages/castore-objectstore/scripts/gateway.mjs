// Starts (and stops) the real S3 server the tests and the benchmark run against: a Ceph RADOS
// Gateway brought up by ceph-rgw.sh next to this file. Plain JavaScript so the benchmark can use it
// without a build step; types in gateway.d.mts.
import { spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

export const GATEWAY_SCRIPT = fileURLToPath(new URL("./ceph-rgw.sh", import.meta.url));
export const ACCESS_KEY_ID = "TESTKEY";
export const SECRET_ACCESS_KEY = "TESTSECRET";

/** Runs the gateway script; resolves with its output, rejects with its last lines on failure. */
export function runGatewayScript(args, timeoutMs = 180_000) {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [GATEWAY_SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (data) => {
      output += data.toString();
    });
    child.stderr.on("data", (data) => {
      output += data.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else {
        const tail = output.trim().split("\n").slice(-8).join("\n");
        reject(new Error(`ceph-rgw.sh ${args[0]} failed (${signal ?? `exit ${code}`})${tail ? `:\n${tail}` : ""}`));
      }
    });
  });
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(() => resolve()));
  return port;
}

function commandExists(name) {
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    child.on("close", (code) => resolve(code === 0));
    child.on("error", () => resolve(false));
  });
}

/**
 * Brings up a gateway with one bucket, or explains why it cannot. CASTORE_TEST_RGW_DIR reuses a
 * gateway already started by the script in that directory (it is then left running).
 */
export async function startGateway(bucket) {
  const reuse = process.env.CASTORE_TEST_RGW_DIR;
  if (reuse) {
    const port = (await readFile(join(reuse, "rgw.port"), "utf8")).trim();
    const target = gatewayAt(reuse, Number(port), bucket, false);
    await createBucket(target.endpoint, bucket);
    return target;
  }
  if (process.platform !== "linux") return { available: false, reason: "the Ceph gateway recipe needs Linux" };
  const installed = (await commandExists("radosgw")) && (await commandExists("ceph-osd"));
  if (!installed) {
    if (process.getuid?.() !== 0) {
      return { available: false, reason: "radosgw is not installed and installing it with apt-get needs root" };
    }
    if (!(await commandExists("apt-get"))) {
      return { available: false, reason: "radosgw is not installed and apt-get is missing" };
    }
    try {
      await runGatewayScript(["install"], 600_000);
    } catch (error) {
      return { available: false, reason: `apt-get could not install radosgw: ${error.message}` };
    }
  }
  if (process.getuid?.() !== 0) return { available: false, reason: "the throwaway Ceph cluster runs as root only" };
  const dir = await mkdtemp(join(tmpdir(), "castore-rgw-"));
  const port = await freePort();
  const monitorPort = await freePort();
  try {
    await runGatewayScript(["start", dir, String(port), String(monitorPort)]);
  } catch (error) {
    await runGatewayScript(["stop", dir]).catch(() => {});
    return { available: false, reason: `the Ceph gateway did not start: ${error.message}` };
  }
  watchOwner(dir);
  const target = gatewayAt(dir, port, bucket, true);
  try {
    await createBucket(target.endpoint, bucket);
  } catch (error) {
    await runGatewayScript(["stop", dir]).catch(() => {});
    return { available: false, reason: `the Ceph gateway refused to create a bucket: ${error.message}` };
  }
  return target;
}

/**
 * Stops the gateway when this process is gone, however it ended: a test runner killed by its
 * parent (turbo cancels the other tasks when one fails) never runs its teardown.
 */
function watchOwner(dir) {
  const watcher = spawn(
    "bash",
    [
      "-c",
      'while kill -0 "$0" 2>/dev/null; do sleep 2; done; exec bash "$1" stop "$2"',
      String(process.pid),
      GATEWAY_SCRIPT,
      dir,
    ],
    { detached: true, stdio: "ignore" },
  );
  watcher.unref();
}

/** Stops a gateway this process started. */
export async function stopGateway(target) {
  if (target.available && target.owned) await runGatewayScript(["stop", target.dir]);
}

function gatewayAt(dir, port, bucket, owned) {
  return {
    available: true,
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    dir,
    owned,
  };
}

async function createBucket(endpoint, bucket) {
  const client = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (error.name !== "BucketAlreadyOwnedByYou" && error.name !== "BucketAlreadyExists") throw error;
  } finally {
    client.destroy();
  }
}
