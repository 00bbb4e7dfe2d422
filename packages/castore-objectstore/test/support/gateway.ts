// Starts (and stops) the real S3 server the tests run against: a Ceph RADOS Gateway brought up by
// scripts/ceph-rgw.sh. Shared by the vitest global setup and the benchmark.
import { spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

export const GATEWAY_SCRIPT = fileURLToPath(new URL("../../scripts/ceph-rgw.sh", import.meta.url));
export const ACCESS_KEY_ID = "TESTKEY";
export const SECRET_ACCESS_KEY = "TESTSECRET";

/** A running gateway, or why there is none. */
export type GatewayTarget =
  | {
      readonly available: true;
      readonly endpoint: string;
      readonly bucket: string;
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      /** The gateway's scratch directory (for stop-rgw / start-rgw). */
      readonly dir: string;
      /** Whether this process started it (and must stop it). */
      readonly owned: boolean;
    }
  | { readonly available: false; readonly reason: string };

/** Runs the gateway script; resolves with its output, rejects with its last lines on failure. */
export function runGatewayScript(args: string[], timeoutMs = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [GATEWAY_SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (data: Buffer) => {
      output += data.toString();
    });
    child.stderr.on("data", (data: Buffer) => {
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

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function commandExists(name: string): Promise<boolean> {
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
export async function startGateway(bucket: string): Promise<GatewayTarget> {
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
    if (!(await commandExists("apt-get")))
      return { available: false, reason: "radosgw is not installed and apt-get is missing" };
    try {
      await runGatewayScript(["install"], 600_000);
    } catch (error) {
      return { available: false, reason: `apt-get could not install radosgw: ${(error as Error).message}` };
    }
  }
  if (process.getuid?.() !== 0) return { available: false, reason: "the throwaway Ceph cluster runs as root only" };
  const dir = await mkdtemp(join(tmpdir(), "castore-rgw-"));
  const [port, monitorPort] = [await freePort(), await freePort()];
  try {
    await runGatewayScript(["start", dir, String(port), String(monitorPort)]);
  } catch (error) {
    await runGatewayScript(["stop", dir]).catch(() => {});
    return { available: false, reason: `the Ceph gateway did not start: ${(error as Error).message}` };
  }
  const target = gatewayAt(dir, port, bucket, true);
  await createBucket(target.endpoint, bucket);
  return target;
}

/** Stops a gateway this process started. */
export async function stopGateway(target: GatewayTarget): Promise<void> {
  if (target.available && target.owned) await runGatewayScript(["stop", target.dir]);
}

function gatewayAt(dir: string, port: number, bucket: string, owned: boolean) {
  return {
    available: true as const,
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    dir,
    owned,
  };
}

async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const client = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw error;
  } finally {
    client.destroy();
  }
}
