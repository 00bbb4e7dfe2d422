/**
 * Runs async operations one after another, in call order: a reader's reads and seeks, a writer's
 * writes and close. Overlapping calls then behave as if the caller had awaited each in turn.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(operation, operation);
    this.#tail = result.then(noop, noop);
    return result;
  }

  /** Settles once everything queued so far has settled. */
  idle(): Promise<void> {
    return this.#tail.then(noop, noop);
  }
}

function noop(): void {}
