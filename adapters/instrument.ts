/**
 * Timing of backend calls (the store here; the short-lived state port the same way), written once
 * so every backend reports the same two facts per operation: how long calls take and how many fail.
 * The adapters know nothing of Prometheus: they talk to an {@link OperationRecorder}, which the
 * process's `Metrics` provides.
 */
import type { EphemeralStore } from './ephemeral.js';
import { DuplicateKeyError, type Collection, type Store, type Stored } from './store.js';

/** The instruments of one operation on one backend, resolved once so that each call only records. */
export interface OperationTimer {
  /** a finished call, failed or not: its duration in seconds */
  observe(seconds: number, failed: boolean): void;
}

export interface OperationRecorder {
  timer(backend: string, operation: string): OperationTimer;
}

/**
 * Runs `call` and records its duration and outcome. `isFailure` says which rejections count as the
 * backend failing (by default all); they are rethrown unchanged either way.
 */
export async function timed<T>(timer: OperationTimer, call: () => Promise<T>, isFailure: (error: unknown) => boolean = () => true): Promise<T> {
  const started = performance.now();
  try {
    const result = await call();
    timer.observe((performance.now() - started) / 1000, false);
    return result;
  } catch (error) {
    timer.observe((performance.now() - started) / 1000, isFailure(error));
    throw error;
  }
}

/**
 * Wraps every method of `target` named in `operations` with {@link timed}, resolving each timer
 * once. Other members are not copied: the result has exactly the listed methods.
 */
export function timedMethods<T extends object, K extends keyof T & string>(
  target: T,
  operations: readonly K[],
  timerOf: (operation: K) => OperationTimer,
  isFailure?: (error: unknown) => boolean,
): Pick<T, K> {
  const wrapped: Partial<Pick<T, K>> = {};
  for (const operation of operations) {
    const method = target[operation];
    if (typeof method !== 'function') throw new TypeError(`${operation} is not a method`);
    const timer = timerOf(operation);
    const call = (method as (...args: unknown[]) => Promise<unknown>).bind(target);
    wrapped[operation] = ((...args: unknown[]) => timed(timer, () => call(...args), isFailure)) as T[K];
  }
  return wrapped as Pick<T, K>;
}

const collectionOperations = ['findOne', 'find', 'count', 'insertOne', 'updateOne', 'updateMany', 'findOneAndUpdate', 'deleteOne', 'deleteMany'] as const;

/**
 * A unique-index violation is the store answering, not failing: repositories turn it into a 409 or a
 * retry. Everything else (unreachable, timed out, refused) counts as an error.
 */
const storeFailure = (error: unknown) => !(error instanceof DuplicateKeyError);

/**
 * The store, with every collection operation and `ping` timed under the store's `kind` as backend.
 * Wrapped collections are cached by name, so repositories that ask for one per call cost no more.
 */
export function instrumentStore(store: Store, recorder: OperationRecorder): Store {
  const timers = new Map<string, OperationTimer>();
  const timerOf = (operation: string) => {
    let timer = timers.get(operation);
    if (!timer) timers.set(operation, (timer = recorder.timer(store.kind, operation)));
    return timer;
  };
  const collections = new Map<string, Collection<Stored>>();
  const { ensureIndexes, ping } = timedMethods(store, ['ensureIndexes', 'ping'], timerOf);
  return {
    kind: store.kind,
    collection<T extends Stored>(name: string): Collection<T> {
      let wrapped = collections.get(name);
      if (!wrapped) {
        const inner = store.collection<Stored>(name);
        wrapped = { name: inner.name, ...timedMethods(inner, collectionOperations, timerOf, storeFailure) };
        collections.set(name, wrapped);
      }
      // Documents are whatever the repository says they are; the wrapper never looks at them.
      return wrapped as unknown as Collection<T>;
    },
    ensureIndexes,
    ping,
    close: () => store.close(),
  };
}

const ephemeralOperations = ['get', 'getMany', 'set', 'take', 'compareAndSet', 'delete', 'increment', 'addToSet', 'removeFromSet', 'members', 'writeInOrder', 'deletePrefix', 'ping'] as const;

/**
 * Short-lived state on Redis with every operation timed under backend `redis`. (Over the store it
 * needs no wrapper: its calls are the store's, timed there.)
 */
export function instrumentEphemeral(ephemeral: EphemeralStore, recorder: OperationRecorder): EphemeralStore {
  return {
    kind: ephemeral.kind,
    ...timedMethods(ephemeral, ephemeralOperations, (operation) => recorder.timer(ephemeral.kind, operation)),
    close: () => ephemeral.close(),
  };
}
