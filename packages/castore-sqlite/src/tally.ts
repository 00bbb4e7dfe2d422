import type { Statements } from "./statements.js";

/**
 * A figure of the whole store (bytes stored, blobs stored) kept without scanning the tables each
 * time it is asked for: measured by a scan when another connection has committed since the last
 * measurement (SQLite's `data_version` says so), else the last measurement plus what this
 * connection changed since. Eviction asks on every write; metrics on every scrape.
 */
export class Tally {
  readonly #statements: Statements;
  readonly #scan: () => number;
  readonly #changed: () => number;
  #measured: { value: number; changed: number; dataVersion: number } | undefined;

  /**
   * @param scan counts the figure in the tables
   * @param changed what this connection has added minus removed since it opened
   */
  constructor(statements: Statements, scan: () => number, changed: () => number) {
    this.#statements = statements;
    this.#scan = scan;
    this.#changed = changed;
  }

  value(): number {
    const dataVersion = this.#statements.dataVersion();
    if (this.#measured?.dataVersion !== dataVersion) {
      this.#measured = { value: this.#scan(), changed: this.#changed(), dataVersion };
    }
    return this.#measured.value + this.#changed() - this.#measured.changed;
  }
}

/** The store's bytes of blob and chunk data (each shared chunk once). */
export function storedBytesTally(statements: Statements): Tally {
  return new Tally(
    statements,
    () => statements.storedBytes(),
    () => statements.bytesChanged,
  );
}

/** The store's blob count. */
export function blobCountTally(statements: Statements): Tally {
  return new Tally(
    statements,
    () => statements.countBlobs(),
    () => statements.activity.blobsAdded - statements.activity.blobsRemoved,
  );
}
