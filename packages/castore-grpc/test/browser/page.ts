// The page the browser tests load (bundled by esbuild and by vite, see bundle.ts). It imports the
// package by name, so the bundler resolves castore-grpc's `browser` export condition and
// castore-core's browser hasher, exactly as an application's build would. The tests drive it
// through `window.castore`.
import { B3Digest, digestOf, fromReadableStream, getBlob, isCastoreError, putBlob } from "castore-core";
import { GrpcBlobService, GrpcWebBlobService, grpcBackends } from "castore-grpc";
import { patterned } from "./patterned.js";

/** A failure as plain data the test can inspect (errors do not cross page.evaluate). */
function describeError(error: unknown): { code: string; message: string } {
  if (isCastoreError(error)) return { code: error.code, message: error.message };
  return { code: "not a castore error", message: String(error) };
}

async function outcome<T>(run: () => Promise<T>): Promise<{ ok: T } | { error: { code: string; message: string } }> {
  try {
    return { ok: await run() };
  } catch (error) {
    return { error: describeError(error) };
  }
}

const api = {
  /** True when the browser entry was selected (the Node entry's client has another constructor). */
  browserEntry: () =>
    (GrpcBlobService as unknown) === GrpcWebBlobService && grpcBackends.every((b) => b.scheme !== "grpc+unix"),
  /** The digest (text form) of `length` patterned bytes, hashed in the page. */
  digestOfPatterned: async (length: number, seed: number) => (await digestOf(patterned(length, seed))).toString(),
  digestOfText: async (text: string) => (await digestOf(new TextEncoder().encode(text))).toString(),

  has: (address: string, digest: string) => outcome(() => new GrpcWebBlobService(address).has(B3Digest.parse(digest))),

  /** Reads the whole blob and returns its digest as the page computes it, or the error. */
  readDigest: (address: string, digest: string, protocol: "grpc-web" | "connect" = "grpc-web") =>
    outcome(async () => {
      const service = new GrpcWebBlobService(address, { protocol });
      try {
        const bytes = await getBlob(service, B3Digest.parse(digest));
        if (!bytes) throw new Error("absent");
        return (await digestOf(bytes)).toString();
      } finally {
        await service.close();
      }
    }),

  /** The blob's chunk list as the server states it (sizes), and whether a reader of it can seek anywhere. */
  chunks: (address: string, digest: string) =>
    outcome(async () => {
      const service = new GrpcWebBlobService(address);
      try {
        const chunks = await service.chunks(B3Digest.parse(digest));
        const reader = await service.openRead(B3Digest.parse(digest));
        const seekable = reader?.seekable;
        await reader?.close();
        return { sizes: chunks?.map((chunk) => chunk.size), seekable };
      } finally {
        await service.close();
      }
    }),

  /** Reads `length` bytes at each offset, in the order given, through one reader; returns their digests. */
  readRanges: (address: string, digest: string, ranges: [number, number][]) =>
    outcome(async () => {
      const service = new GrpcWebBlobService(address);
      const reader = await service.openRead(B3Digest.parse(digest));
      if (!reader) throw new Error("absent");
      const digests: string[] = [];
      for (const [offset, length] of ranges) {
        await reader.seek(offset, "start");
        const parts: Uint8Array[] = [];
        let got = 0;
        while (got < length) {
          const piece = await reader.read({ maxBytes: length - got });
          if (!piece) break;
          parts.push(piece.slice());
          got += piece.length;
        }
        const bytes = new Uint8Array(got);
        let at = 0;
        for (const part of parts) {
          bytes.set(part, at);
          at += part.length;
        }
        digests.push((await digestOf(bytes)).toString());
      }
      await reader.close();
      await service.close();
      return digests;
    }),

  /** Uploads `length` patterned bytes from a File object (streamed from the File, as an app would). */
  uploadFile: (address: string, length: number, seed: number) =>
    outcome(async () => {
      const file = new File([patterned(length, seed)], "upload.bin");
      const service = new GrpcWebBlobService(address);
      try {
        return (await putBlob(service, fromReadableStream(file.stream()))).toString();
      } finally {
        await service.close();
      }
    }),

  /** Throughput in MB/s of: uploading, downloading (verified), and plain fetches of the same bytes. */
  throughput: async (address: string, pageOrigin: string, length: number) => {
    const data = patterned(length, 99);
    const service = new GrpcWebBlobService(address);
    const mbps = (start: number) => length / 1e6 / ((performance.now() - start) / 1000);
    let start = performance.now();
    const digest = await putBlob(service, data);
    const upload = mbps(start);
    start = performance.now();
    await getBlob(service, digest);
    const download = mbps(start);
    start = performance.now();
    await fetch(`${pageOrigin}/sink`, { method: "POST", body: data });
    const fetchUpload = mbps(start);
    start = performance.now();
    await (await fetch(`${pageOrigin}/bytes/${length}`)).arrayBuffer();
    const fetchDownload = mbps(start);
    await service.close();
    return { upload, download, fetchUpload, fetchDownload };
  },
};

/** What the tests call through `window.castore`. */
export type PageApi = typeof api;
/**
 * Installs the API. Called, not run on import: castore-grpc declares `sideEffects: false`, and this
 * file lies inside it, so a bundler may drop a module imported only for its effects.
 */
export function install(): void {
  (window as unknown as { castore: PageApi }).castore = api;
  document.title = "castore page ready";
}
