import type { ObjectStore } from "./object-store.js";

/**
 * Objects in a Map: the layout in memory, for tests and short-lived caches. Objects are copied in
 * and out (`new Uint8Array(bytes)`: a Buffer's `slice` would share memory), so a reader unpacking
 * a chunk where it lies never touches the stored object.
 */
export class MemoryObjectStore implements ObjectStore {
  readonly description = "memory";
  readonly #objects = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | undefined> {
    const bytes = this.#objects.get(key);
    return bytes && new Uint8Array(bytes);
  }

  async head(key: string): Promise<boolean> {
    return this.#objects.has(key);
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean> {
    if (this.#objects.has(key)) return false;
    this.#objects.set(key, new Uint8Array(bytes));
    return true;
  }

  /** Keys currently stored, sorted (tests compare layouts with it). */
  keys(): string[] {
    return [...this.#objects.keys()].sort();
  }

  /** Test hook: replaces an object's bytes regardless of what is there. */
  overwrite(key: string, bytes: Uint8Array): void {
    this.#objects.set(key, new Uint8Array(bytes));
  }

  async close(): Promise<void> {
    this.#objects.clear();
  }
}
