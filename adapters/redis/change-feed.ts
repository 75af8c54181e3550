import type { Logger } from 'pino';
import type { RedisConnection } from './client.js';
import { ALL_TENANTS, formatChange, parseChange, type Change, type ChangeFeed, type ChangeListener } from '../change-feed.js';

/** The channel every instance of one deployment (one key prefix) publishes changes on. */
export function changeChannel(keyPrefix: string): string {
  return `${keyPrefix}changes`;
}

/**
 * The change feed over Redis pub/sub, on one channel under the deployment's key prefix. Takes two
 * connections because a subscribed connection can do nothing else: `publisher` (shared with other
 * users) and `subscriber` (this feed's own; closed with it).
 *
 * Pub/sub delivers at most once: whatever is published while the subscriber is disconnected is
 * lost. So each time the subscription is (re)established this feed emits a synthetic flush of
 * every tenant, and what was cached before is rebuilt from the store; the per-request check of
 * `src/tenancy/change-log.ts` covers the messages lost before the disconnection is noticed.
 * Messages that are not a change are logged and dropped: the channel is not trusted input.
 */
export class RedisChangeFeed implements ChangeFeed {
  readonly kind = 'redis' as const;
  readonly #listeners = new Set<ChangeListener>();
  readonly #channel: string;
  readonly #subscribed: Promise<void>;
  #closed = false;

  constructor(
    private readonly publisher: RedisConnection,
    private readonly subscriber: RedisConnection,
    private readonly logger: Logger,
    options: { keyPrefix: string },
  ) {
    this.#channel = changeChannel(options.keyPrefix);
    // ioredis reconnects by itself; an error here is only reported (and `ready` follows recovery).
    subscriber.on('error', (error: Error) => logger.warn({ err: error }, 'change feed subscriber connection error'));
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.#channel) this.#receive(message);
    });
    this.#subscribed = this.#subscribe(false);
    // The first `ready` of a connection opened lazily is its first connection; every later one is
    // a reconnection, after which messages may have been lost.
    let connected = subscriber.status === 'ready';
    subscriber.on('ready', () => {
      if (connected) void this.#subscribe(true);
      connected = true;
    });
  }

  /** Resolves once the first subscription is in place (rejects if Redis cannot be reached). */
  ready(): Promise<void> {
    return this.#subscribed;
  }

  async #subscribe(flush: boolean): Promise<void> {
    if (this.#closed) return;
    try {
      // Subscribing again on a connection that is subscribed already changes nothing, so this
      // works whether or not ioredis resubscribed by itself first.
      await this.subscriber.subscribe(this.#channel);
    } catch (error) {
      if (!flush) throw error;
      // The next `ready` tries again; meanwhile the per-request check keeps instances correct.
      this.logger.warn({ err: error }, 'could not resubscribe to the change feed');
      return;
    }
    if (flush) {
      this.logger.warn('change feed subscription re-established: dropping every cached tenant, changes may have been missed');
      this.#deliver({ tenant: ALL_TENANTS, kind: 'flush' });
    }
  }

  #receive(message: string): void {
    const change = parseChange(message);
    if (!change) {
      this.logger.warn({ length: message.length, sample: message.slice(0, 80) }, 'ignored a malformed message on the change feed');
      return;
    }
    this.#deliver(change);
  }

  #deliver(change: Change): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error({ err: error, change }, 'a change feed listener failed');
      }
    }
  }

  async publish(change: Change): Promise<void> {
    await this.publisher.publish(this.#channel, formatChange(change));
  }

  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Closes the subscriber connection (the publisher belongs to whoever opened it). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    this.subscriber.disconnect();
  }
}
