import type { Change, ChangeFeed, ChangeListener } from './change-feed.js';

/**
 * The change feed of a single process: `publish` calls every listener before it resolves, so a
 * change is applied before the admin API answers and no per-request check is needed.
 */
export class LocalChangeFeed implements ChangeFeed {
  readonly kind = 'local' as const;
  readonly #listeners = new Set<ChangeListener>();

  async publish(change: Change): Promise<void> {
    for (const listener of [...this.#listeners]) listener(change);
  }

  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}
