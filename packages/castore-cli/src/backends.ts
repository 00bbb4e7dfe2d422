import { type BlobServiceBackend, register } from "castore-core";

/**
 * The backends castore ships, loaded on demand: importing the gRPC stack costs several hundred
 * milliseconds, which `castore put` on the local store should not pay. Each package is imported
 * the first time an address needs one of its schemes, then registered with core's registry.
 */
const packages: ReadonlyArray<{ schemes: readonly string[]; load: () => Promise<readonly BlobServiceBackend[]> }> = [
  { schemes: ["memory"], load: async () => [(await import("castore-memory")).memoryBackend] },
  { schemes: ["sqlite"], load: async () => [(await import("castore-sqlite")).sqliteBackend] },
  { schemes: ["grpc+unix", "grpc+http", "grpc+https"], load: async () => (await import("castore-grpc")).grpcBackends },
  {
    schemes: ["objectstore+memory", "objectstore+file", "objectstore+s3"],
    load: async () => (await import("castore-objectstore")).objectStoreBackends,
  },
  {
    // A cache opens its near and far stores by address: every scheme must be there.
    schemes: ["cache"],
    load: async () => {
      await Promise.all(packages.filter((p) => !p.schemes.includes("cache")).map(load));
      return [(await import("castore-cache")).cacheBackend];
    },
  },
];

const loaded = new Map<(typeof packages)[number], Promise<void>>();

function load(entry: (typeof packages)[number]): Promise<void> {
  let done = loaded.get(entry);
  if (!done) {
    done = entry.load().then((backends) => register(...backends));
    loaded.set(entry, done);
  }
  return done;
}

/**
 * Registers the backend for `address`'s scheme. For an unknown scheme or a string that is not a
 * URL it registers all of them, so that core's error message lists every scheme there is.
 */
export async function registerBackendFor(address: string): Promise<void> {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(address)?.[1]?.toLowerCase();
  const entry = packages.find((p) => scheme !== undefined && p.schemes.includes(scheme));
  await (entry ? load(entry) : registerAllBackends());
}

/** Registers every backend castore ships (for help texts and unknown schemes). */
export async function registerAllBackends(): Promise<void> {
  await Promise.all(packages.map(load));
}
