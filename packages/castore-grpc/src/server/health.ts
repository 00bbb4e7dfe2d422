import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";

export { ServingStatus };

/**
 * The serving status of each service a server offers ("" stands for the server as a whole), as
 * the standard grpc.health.v1 protocol reports it to load balancers, orchestrators and probes.
 */
export class HealthStatus {
  readonly #statuses = new Map<string, ServingStatus>();
  #changed = Promise.withResolvers<void>();
  #stopped = false;

  constructor(services: Iterable<string>, status: ServingStatus = ServingStatus.SERVING) {
    this.#statuses.set("", status);
    for (const service of services) this.#statuses.set(service, status);
  }

  /** The status of `service`, or undefined when the server does not offer it. */
  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  /** Sets the status of one service (adding it if new); watchers see the change. */
  set(service: string, status: ServingStatus): void {
    this.#statuses.set(service, status);
    this.#notify();
  }

  /** Sets the status of every service, e.g. NOT_SERVING while shutting down. */
  setAll(status: ServingStatus): void {
    for (const service of this.#statuses.keys()) this.#statuses.set(service, status);
    this.#notify();
  }

  /** Reports NOT_SERVING for everything and ends every Watch (the server is shutting down). */
  stop(): void {
    this.#stopped = true;
    this.setAll(ServingStatus.NOT_SERVING);
  }

  /** True once stop() was called. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Resolves at the next change. */
  nextChange(): Promise<void> {
    return this.#changed.promise;
  }

  #notify(): void {
    this.#changed.resolve();
    this.#changed = Promise.withResolvers<void>();
  }
}

/** Registers grpc.health.v1.Health: Check answers at once, Watch streams the status as it changes. */
export function healthRoutes(router: ConnectRouter, health: HealthStatus): void {
  router.service(Health, {
    async check(request) {
      const status = health.get(request.service);
      if (status === undefined)
        throw new ConnectError(`unknown service ${JSON.stringify(request.service)}`, Code.NotFound);
      return { status };
    },
    async *watch(request, context: HandlerContext) {
      let last: ServingStatus | undefined;
      for (;;) {
        const changed = health.nextChange();
        const status = health.get(request.service) ?? ServingStatus.SERVICE_UNKNOWN;
        if (status !== last) yield { status: (last = status) };
        if (health.stopped || context.signal.aborted) return;
        await untilChangedOrAborted(changed, context.signal);
      }
    },
  });
}

function untilChangedOrAborted(changed: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    changed.then(done);
  });
}
