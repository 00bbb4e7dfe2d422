import { chmod, lstat, unlink } from "node:fs/promises";
import * as net from "node:net";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidArgumentError } from "castore-core";

/**
 * Where a server listens: a unix socket path (`mode`: its permissions, default 0o600, owner only,
 * whatever the umask), or a TCP host and port (port 0 picks a free one).
 */
export type ListenAddress = { path: string; mode?: number | undefined } | { host?: string | undefined; port: number };

/** Only the owner may connect to a new unix socket unless asked otherwise. */
const DEFAULT_SOCKET_MODE = 0o600;

/** The HTTP/2 connection preface starts with "PRI * HTTP/2.0"; no HTTP/1 method starts with "PRI ". */
const HTTP2_PREFACE_START = "PRI ";

/** How long a new connection may stay silent before it is closed. */
const FIRST_BYTES_TIMEOUT_MS = 10_000;

/**
 * Hands each accepted cleartext connection to the HTTP/2 server or, if it does not start with the
 * HTTP/2 preface, to the HTTP/1.1 server: gRPC clients speak h2c, browsers (gRPC-Web, Connect)
 * speak HTTP/1.1 to a cleartext port, and both reach the same handlers on one socket.
 */
export function sniffProtocol(
  socket: net.Socket,
  http2Server: net.Server,
  http1Server: net.Server,
  firstBytesTimeoutMs = FIRST_BYTES_TIMEOUT_MS,
): void {
  let head = Buffer.alloc(0);
  // Until a server owns the socket, a reset must not become an uncaught exception.
  const onEarlyError = (): void => {
    socket.destroy();
  };
  socket.on("error", onEarlyError);
  // Neither server times a connection out before it owns it: one that never says which protocol
  // it speaks would hold its descriptor for good.
  const silent = setTimeout(() => socket.destroy(), firstBytesTimeoutMs);
  silent.unref();
  socket.once("close", () => clearTimeout(silent));
  const onReadable = (): void => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) head = Buffer.concat([head, chunk]);
    const decided =
      head.length >= HTTP2_PREFACE_START.length ||
      !HTTP2_PREFACE_START.startsWith(head.toString("latin1")) ||
      socket.readableEnded;
    if (!decided) return;
    clearTimeout(silent);
    socket.off("readable", onReadable);
    socket.off("error", onEarlyError);
    socket.unshift(head);
    const isHttp2 = head.subarray(0, HTTP2_PREFACE_START.length).toString("latin1") === HTTP2_PREFACE_START;
    (isHttp2 ? http2Server : http1Server).emit("connection", socket);
  };
  socket.on("readable", onReadable);
}

/**
 * Starts `server` listening. A unix socket path left behind by a server that is gone (nothing
 * accepts connections on it) is removed first; a live one is an error, as is any other file.
 */
export async function listen(server: net.Server, address: ListenAddress): Promise<void> {
  if ("path" in address) {
    const path = resolve(address.path);
    const mode = address.mode ?? DEFAULT_SOCKET_MODE;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
      throw new InvalidArgumentError(`socket mode must be from 0 to 0o777, got ${mode}`);
    }
    try {
      await listenOnce(server, { path }, mode);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || !(await isStaleSocket(path))) throw error;
      await unlink(path);
      await listenOnce(server, { path }, mode);
    }
    // The umask only narrows what bind() creates; this sets exactly the mode asked for.
    await chmod(path, mode);
    return;
  }
  await listenOnce(server, { host: address.host ?? "127.0.0.1", port: address.port });
}

function listenOnce(server: net.Server, options: net.ListenOptions, socketMode?: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    // A unix socket is bound synchronously inside listen(): under a umask that removes every bit
    // the mode does not grant, it never exists with wider permissions, not even for a moment.
    // (Worker threads cannot change the umask; there the chmod afterwards is all there is.)
    const restore = socketMode === undefined ? undefined : setUmask(0o777 & ~socketMode);
    try {
      server.listen(options, () => {
        server.off("error", onError);
        resolvePromise();
      });
    } finally {
      if (restore !== undefined) setUmask(restore);
    }
  });
}

function setUmask(mask: number): number | undefined {
  try {
    return process.umask(mask);
  } catch {
    return undefined;
  }
}

/**
 * True when `path` is a unix socket nobody listens on (connecting is refused). Anything that is not
 * a socket is never stale: connecting to a regular file is refused too, and it must not be deleted.
 */
async function isStaleSocket(path: string): Promise<boolean> {
  const stats = await lstat(path).catch(() => undefined);
  if (!stats?.isSocket()) return false;
  return new Promise((resolvePromise) => {
    const probe = net.connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolvePromise(false);
    });
    probe.once("error", (error: NodeJS.ErrnoException) => resolvePromise(error.code === "ECONNREFUSED"));
  });
}

/** The castore address of a listening server: grpc+unix:///path, grpc+http://host:port or grpc+https://host:port. */
export function addressOf(server: net.Server, tls: boolean): string {
  const bound = server.address();
  if (typeof bound === "string") return `grpc+unix://${pathToFileURL(bound).pathname}`;
  if (!bound) throw new Error("the server is not listening");
  const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return `grpc+${tls ? "https" : "http"}://${host}:${bound.port}`;
}
