import { type B3Digest, type BlobWriter, IntegrityError } from "castore-core";
import { BaseBlobWriter } from "castore-core/backend";
import { fromFar } from "./far.js";

/**
 * A cache's `write = through` writer: every byte goes to a near and a far writer, and `close`
 * returns once both have stored the blob, so a blob written through is on the shared tier when the
 * caller is told it is stored. A far failure fails the write (`Unavailable` when far is down); what
 * near stored by then is a correct blob under its own digest.
 */
export class ThroughWriter extends BaseBlobWriter {
  readonly #near: BlobWriter;
  readonly #far: BlobWriter;

  constructor(near: BlobWriter, far: BlobWriter) {
    super();
    this.#near = near;
    this.#far = far;
  }

  protected async writeChunk(chunk: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    await Promise.all([
      this.#near.write(chunk, { signal }),
      fromFar("write", () => this.#far.write(chunk, { signal })),
    ]);
  }

  protected async commit(digest: B3Digest, _size: number, signal: AbortSignal | undefined): Promise<void> {
    const [near, far] = await Promise.all([
      this.#near.close({ signal }),
      fromFar("store the blob", () => this.#far.close({ signal })),
    ]);
    if (!near.equals(digest) || !far.equals(digest)) {
      throw new IntegrityError(`the tiers stored ${near} and ${far} for a blob whose bytes hash to ${digest}`);
    }
  }

  protected async discard(): Promise<void> {
    await Promise.allSettled([this.#near.abort(), this.#far.abort()]);
  }
}
