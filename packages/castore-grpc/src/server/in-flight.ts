/** Counts the calls a server is handling, so that shutdown can wait for them to finish. */
export class InFlightCalls {
  readonly #active = new Set<object>();
  #idle = Promise.withResolvers<void>();

  constructor() {
    this.#idle.resolve();
  }

  get size(): number {
    return this.#active.size;
  }

  /** Counts `response` until it emits 'close' (finished, failed or cancelled). */
  track(response: { once(event: "close", listener: () => void): unknown }): void {
    if (this.#active.size === 0) this.#idle = Promise.withResolvers<void>();
    this.#active.add(response);
    response.once("close", () => {
      this.#active.delete(response);
      if (this.#active.size === 0) this.#idle.resolve();
    });
  }

  /** Resolves true once no call is active, or false when `timeoutMs` passes first. */
  async settled(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.#idle.promise.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
