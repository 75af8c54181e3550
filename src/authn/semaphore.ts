/** Limits how many async jobs run at once; the rest wait in FIFO order. */
export class Semaphore {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active += 1;
    try {
      return await job();
    } finally {
      this.#active -= 1;
      this.#waiting.shift()?.();
    }
  }
}
