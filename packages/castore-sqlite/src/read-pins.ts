/**
 * The chunked blobs this process's open readers are reading, which eviction must leave alone: a
 * chunked reader fetches its chunks one by one as it goes, so they must stay until it closes. (A
 * one-piece blob, or a chunk read as a blob, is loaded whole when the reader opens and needs no
 * pin.) A count per digest: several readers may read one blob.
 *
 * A reader dropped without `close` would pin its blob for ever; the finalization registry
 * releases the pin once such a reader is garbage-collected.
 */
export class ReadPins {
  readonly #counts = new Map<string, number>();
  readonly #dropped = new FinalizationRegistry<string>((hex) => this.#release(hex));

  /** Pins the blob `hex` for `reader`; the returned function (idempotent) releases the pin. */
  pin(hex: string, reader: object): () => void {
    this.#counts.set(hex, (this.#counts.get(hex) ?? 0) + 1);
    const token = {};
    this.#dropped.register(reader, hex, token);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#dropped.unregister(token);
      this.#release(hex);
    };
  }

  isPinned(hex: string): boolean {
    return this.#counts.has(hex);
  }

  #release(hex: string): void {
    const count = (this.#counts.get(hex) ?? 1) - 1;
    if (count === 0) this.#counts.delete(hex);
    else this.#counts.set(hex, count);
  }
}
