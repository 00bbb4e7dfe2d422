import type { IncomingHttpHeaders } from "node:http";

/** The protocol a call arrived in. */
export type CallProtocol = "grpc" | "grpc-web" | "connect";

/**
 * Why the server answered a request without serving it: a `Host` it does not serve (`host`), a
 * missing or wrong bearer token (`auth`), a request it could not parse at all (`malformed`), a
 * body that stopped arriving (`stalled-body`), a connection beyond `maxConnections`
 * (`max-connections`, closed as it came), or a call beyond `maxCalls` (`max-calls`, answered
 * UNAVAILABLE).
 */
export type RefusalReason = "host" | "auth" | "malformed" | "stalled-body" | "max-connections" | "max-calls";

/** What is known of a call when it starts. */
export interface CallStart {
  /**
   * The fully qualified service, e.g. `tvix.castore.v1.BlobService`. Only names the server serves
   * appear here; any other path is `unknown` (labels built from these stay few, whatever clients send).
   */
  readonly service: string;
  /** The method, e.g. `Read`; `unknown` for a path the server does not serve. */
  readonly method: string;
  readonly protocol: CallProtocol;
  /** The request headers, e.g. to continue a trace (`traceparent`). Do not keep them. */
  readonly headers: Readonly<IncomingHttpHeaders>;
}

/** What a call came to. */
export interface CallEnd {
  /** The gRPC status code the call ended with (0 is OK; 1, CANCELLED, when the client went away). */
  readonly code: number;
  /** Its canonical name: `OK`, `NOT_FOUND`, `RESOURCE_EXHAUSTED`… */
  readonly status: string;
  /** From the request's arrival to its last byte sent or its cancellation. */
  readonly durationMs: number;
  /** Blob bytes received (a Put's data; message framing not counted). */
  readonly bytesReceived: number;
  /** Blob bytes sent (a Read's data). */
  readonly bytesSent: number;
  /** The blob the call was about (`b3:…`): the one asked for by Stat and Read, the one stored by Put. */
  readonly digest: string | undefined;
}

/** Watches one call; returned by {@link ServerObserver.callStarted}. */
export interface CallObserver {
  /**
   * Runs the call's handling, which may go on asynchronously after `handle` returns: whatever
   * context is entered here (an OpenTelemetry span, a request id in an AsyncLocalStorage) is the
   * context of everything the call does, the BlobService calls included. Default: `handle()`.
   */
  run?<T>(handle: () => T): T;
  /** Told once, when the call's response has closed (finished, failed or cancelled). */
  ended(call: CallEnd): void;
}

/**
 * Told what a server does: calls, refusals, connections. Every method is optional, and a server
 * without an observer does none of this bookkeeping. Methods run on the server's own path: keep
 * them quick; what they throw is reported to `onError` and does not disturb the call.
 */
export interface ServerObserver {
  /** A request reached a handler (after the Host and token checks). Return a CallObserver to watch it. */
  callStarted?(call: CallStart): CallObserver | undefined;
  /** A request or connection was refused before any handler saw it. */
  refused?(reason: RefusalReason): void;
  /** A connection was accepted (TCP or unix socket; before TLS and the protocol are known). */
  connectionOpened?(): void;
  /** An accepted connection closed. */
  connectionClosed?(): void;
}

/**
 * One observer made of several: each is told everything, in order, and the first's `run` is
 * outermost. One that throws does not keep the others from being told; the first error is thrown
 * afterwards (the server reports it to `onError`; a call whose `callStarted` threw goes unobserved).
 */
export function combineObservers(...observers: readonly ServerObserver[]): ServerObserver {
  const each = (tell: (observer: ServerObserver) => void) => tellAll(observers, tell);
  return {
    callStarted(call) {
      const watching: CallObserver[] = [];
      each((observer) => {
        const watcher = observer.callStarted?.(call);
        if (watcher) watching.push(watcher);
      });
      if (watching.length <= 1) return watching[0];
      return {
        run<T>(handle: () => T): T {
          const nested = watching.reduceRight<() => T>((inner, watcher) => {
            const run = watcher.run?.bind(watcher);
            return run ? () => run(inner) : inner;
          }, handle);
          return nested();
        },
        ended: (end) => tellAll(watching, (watcher) => watcher.ended(end)),
      };
    },
    refused: (reason) => each((observer) => observer.refused?.(reason)),
    connectionOpened: () => each((observer) => observer.connectionOpened?.()),
    connectionClosed: () => each((observer) => observer.connectionClosed?.()),
  };
}

/** Calls `tell` for every one of `targets`, then throws the first error any of them threw. */
function tellAll<T>(targets: readonly T[], tell: (target: T) => void): void {
  let failed = false;
  let first: unknown;
  for (const target of targets) {
    try {
      tell(target);
    } catch (error) {
      if (!failed) first = error;
      failed = true;
    }
  }
  if (failed) throw first;
}
