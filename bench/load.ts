/**
 * Closed-loop load: `concurrency` workers each run one iteration after another for a fixed time.
 * Throughput is the number of iterations that completed successfully inside the measured window,
 * which starts after a warm-up (JIT, connection setup, first-use caches) and lasts `durationMs`.
 */

export interface LoadOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** hard cap on iterations started, whatever the time says */
  maxIterations?: number;
  /** called when the measured window opens and closes, e.g. to read the server's CPU time */
  onWindowStart?: () => void | Promise<void>;
  onWindowEnd?: () => void | Promise<void>;
}

export interface Measurement {
  /** successful iterations completed inside the window */
  ok: number;
  /** failed iterations completed inside the window */
  errors: number;
  /** length of the measured window, in seconds */
  seconds: number;
  /** ok / seconds */
  perSecond: number;
  /** the first failure's message, to say what went wrong */
  firstError?: string;
}

/**
 * Runs `iteration` in a closed loop and measures its throughput. An iteration counts as an error
 * when it throws; it must itself check that what it got back is a success. Iterations still in
 * flight when the window closes are awaited (they are bounded by the client's request timeout) but
 * not counted.
 */
export async function measure(iteration: () => Promise<void>, options: LoadOptions): Promise<Measurement> {
  const maxIterations = options.maxIterations ?? 1_000_000;
  const start = performance.now();
  const windowStart = start + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  let started = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;

  const sleepUntil = (time: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, time - performance.now())));
  const opened = sleepUntil(windowStart).then(() => options.onWindowStart?.());
  const closed = sleepUntil(windowEnd).then(() => options.onWindowEnd?.());

  const worker = async () => {
    while (performance.now() < windowEnd && started < maxIterations) {
      started += 1;
      let failure: unknown;
      try {
        await iteration();
      } catch (error) {
        failure = error;
      }
      const finished = performance.now();
      if (finished < windowStart || finished > windowEnd) continue;
      if (failure === undefined) {
        ok += 1;
      } else {
        errors += 1;
        firstError ??= failure instanceof Error ? failure.message : String(failure);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  // Normally done already; if the iteration cap stopped the workers early, the window still runs out.
  await Promise.all([opened, closed]);

  const seconds = options.durationMs / 1000;
  return { ok, errors, seconds, perSecond: ok / seconds, ...(firstError !== undefined ? { firstError } : {}) };
}
