/**
 * A blob held as fixed-size segments: every segment but the last is exactly SEGMENT_SIZE bytes, so
 * the segment of any position is found by division. Writing copies each byte once (no final join,
 * which for a 1 GiB blob would mean a second 1 GiB copy and twice the peak memory).
 */
export interface SegmentedBytes {
  readonly segments: readonly Uint8Array[];
  readonly size: number;
}

export const SEGMENT_SIZE = 1 << 20;

/** Locates byte `position` of a segmented blob; undefined at or past the end. */
export function segmentAt(
  bytes: SegmentedBytes,
  position: number,
): { segment: Uint8Array; offset: number } | undefined {
  if (position >= bytes.size) return undefined;
  const segment = bytes.segments[Math.floor(position / SEGMENT_SIZE)] as Uint8Array;
  return { segment, offset: position % SEGMENT_SIZE };
}

/** Accumulates copies of written chunks into segments. */
export class SegmentBuilder {
  readonly #full: Uint8Array[] = [];
  #current = new Uint8Array(0);
  #used = 0;
  #size = 0;

  /** Copies `chunk` in (the caller may reuse it afterwards). */
  append(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#used === this.#current.length) this.#makeRoom(chunk.length - offset);
      const take = Math.min(chunk.length - offset, this.#current.length - this.#used);
      this.#current.set(chunk.subarray(offset, offset + take), this.#used);
      this.#used += take;
      offset += take;
    }
    this.#size += chunk.length;
  }

  /** The segments written so far, the last one trimmed to its bytes. */
  finish(): SegmentedBytes {
    const last = this.#used === this.#current.length ? this.#current : this.#current.slice(0, this.#used);
    const segments = last.length > 0 ? [...this.#full, last] : [...this.#full];
    return { segments, size: this.#size };
  }

  #makeRoom(wanted: number): void {
    if (this.#current.length < SEGMENT_SIZE) {
      // The first segment starts at the size of the first write and doubles, so small blobs stay small.
      const grown = new Uint8Array(Math.min(SEGMENT_SIZE, Math.max(this.#current.length * 2, this.#used + wanted)));
      grown.set(this.#current.subarray(0, this.#used));
      this.#current = grown;
    } else {
      this.#full.push(this.#current);
      this.#current = new Uint8Array(SEGMENT_SIZE);
      this.#used = 0;
    }
  }
}
