/**
 * Limits how many async jobs run at once; the rest wait in FIFO order. A finishing job hands its
 * slot straight to the next waiter instead of freeing it: the waiter resumes a few microtasks
 * later, and a slot freed in between could be taken by a newcomer, running one job over the limit.
 */
export class Semaphore {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  /** jobs running now */
  get active(): number {
    return this.#active;
  }

  /** jobs waiting for a slot */
  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    // A waiter is woken with the slot already counted as its own.
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active += 1;
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active -= 1;
    }
  }
}
