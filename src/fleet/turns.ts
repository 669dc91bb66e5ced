/**
 * Reads that must not overlap, run one after another: while a reshard routes a fleet's
 * items, concurrent `next()` calls share the one item asked for, which only one may take.
 */
export class Turns {
  #last: Promise<void> = Promise.resolve();
  /** Calls started and not yet settled. */
  waiting = 0;

  /** Runs `call` once every call before it has settled. */
  run<T>(call: () => Promise<T>): Promise<T> {
    this.waiting += 1;
    const turn = this.#last.then(call);
    const done = (): void => void (this.waiting -= 1);
    this.#last = turn.then(done, done);
    return turn;
  }
}
