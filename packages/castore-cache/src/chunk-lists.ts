import type { ChunkMeta } from "castore-core";

/**
 * The chunk lists of blobs read through from far, most recently used last, at most `limit` of them.
 * A blob filled chunk by chunk lives in near as its chunks only (a BlobService cannot be handed a
 * chunk list), so this is what lets a later read find those chunks without asking far.
 */
export class ChunkListMemo {
  readonly #lists = new Map<string, readonly ChunkMeta[]>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get(key: string): readonly ChunkMeta[] | undefined {
    const list = this.#lists.get(key);
    if (list) {
      this.#lists.delete(key);
      this.#lists.set(key, list);
    }
    return list;
  }

  set(key: string, list: readonly ChunkMeta[]): void {
    this.#lists.delete(key);
    this.#lists.set(key, list);
    if (this.#lists.size > this.#limit) this.#lists.delete(this.#lists.keys().next().value as string);
  }

  delete(key: string): void {
    this.#lists.delete(key);
  }

  clear(): void {
    this.#lists.clear();
  }
}
