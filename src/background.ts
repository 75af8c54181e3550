/**
 * Work a request starts but does not wait for (CIBA notifications: the client's answer must not
 * wait for an SMS gateway or a tenant's webhook). Each task is kept until it settles, so shutdown
 * can let it finish before the store closes (`boot.ts`), and a test can wait for it instead of
 * sleeping. A task handles its own failures; one that throws anyway is logged here, never left as
 * an unhandled rejection that would end the process.
 */
export class BackgroundWork {
  readonly #running = new Set<Promise<void>>();

  constructor(private readonly onError: (error: unknown) => void) {}

  run(task: () => Promise<void>): void {
    const running: Promise<void> = Promise.resolve()
      .then(task)
      .catch(this.onError)
      .finally(() => this.#running.delete(running));
    this.#running.add(running);
  }

  /** Resolves when every task started so far (and any they started) has settled, or after `timeoutMs`. */
  async idle(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#running.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = Number.isFinite(timeoutMs) ? new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now()))) : undefined;
      await Promise.race([Promise.allSettled([...this.#running]), ...(timeout ? [timeout] : [])]);
      clearTimeout(timer);
    }
  }
}
