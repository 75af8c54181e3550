/**
 * Short-lived state on Redis (single server, Sentinel or Cluster): what several instances share.
 * Redis expires keys by itself, so lifetimes are `PX` on each write. The key prefix
 * (`redis.keyPrefix`) is applied here rather than by ioredis, whose own `keyPrefix` is not applied to
 * SCAN patterns and whose SCAN results come back prefixed: one rule in one place is easier to trust.
 * The prefix holds no braces, so a caller's `{tenant}` stays the Cluster hash tag.
 */
import { Cluster, type Redis } from 'ioredis';
import { assertCounters, assertTtl, EphemeralUnavailableError, type EphemeralStore, type EphemeralWrite } from '../ephemeral.js';
import { closeRedisConnection, type RedisConnection } from './client.js';
import { defineScripts } from './scripts.js';

/**
 * Replies that mean "Redis cannot serve this now" (loading, failover, cluster reconfiguring, out of
 * memory under `noeviction`, persistence failing) rather than a bug in the command.
 */
const unavailableReplies = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|MISCONF|OOM|NOSCRIPT)\b/;

/** Keys unlinked per round trip by `deletePrefix`. */
const BATCH = 500;

function translate(error: unknown): Error {
  // ioredis types its ReplyError class as `any`, so it is recognised by name.
  const reply = error instanceof Error && error.name === 'ReplyError';
  if (reply && !unavailableReplies.test(error.message)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new EphemeralUnavailableError(`Redis: ${message}`, { cause: error });
}

/** SCAN's MATCH is a glob: a prefix holding `*`, `?`, `[` or `\` must match only itself. */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function milliseconds(ttlSeconds: number): number {
  assertTtl(ttlSeconds);
  return Math.ceil(ttlSeconds * 1000);
}

export class RedisEphemeral implements EphemeralStore {
  readonly kind = 'redis' as const;

  constructor(
    /** also the change feed's publisher (`openChangeFeed`): publishing needs no connection of its own */
    readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {
    defineScripts(redis);
  }

  #key(key: string): string {
    return this.prefix + key;
  }

  async #run<T>(command: (redis: RedisConnection) => Promise<T>): Promise<T> {
    try {
      return await command(this.redis);
    } catch (error) {
      throw translate(error);
    }
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#run((r) => r.get(this.#key(key)))) ?? undefined;
  }

  async getMany(keys: string[]): Promise<Array<string | undefined>> {
    if (keys.length === 0) return [];
    const values = await this.#run((r) => r.mget(keys.map((key) => this.#key(key))));
    return values.map((value) => value ?? undefined);
  }

  async set(key: string, value: string, options: { ttlSeconds: number; onlyIfAbsent?: boolean }): Promise<boolean> {
    const ms = milliseconds(options.ttlSeconds);
    const k = this.#key(key);
    const reply = await this.#run((r) => (options.onlyIfAbsent ? r.set(k, value, 'PX', ms, 'NX') : r.set(k, value, 'PX', ms)));
    return reply === 'OK';
  }

  async take(key: string): Promise<string | undefined> {
    return (await this.#run((r) => r.getdel(this.#key(key)))) ?? undefined;
  }

  async compareAndSet(key: string, expected: string | undefined, next: string | undefined, ttlSeconds: number): Promise<boolean> {
    const ms = milliseconds(ttlSeconds);
    const written = await this.#run((r) =>
      r.gatehouseCompareAndSet(this.#key(key), expected === undefined ? '0' : '1', expected ?? '', next === undefined ? '0' : '1', next ?? '', ms),
    );
    return written === 1;
  }

  async delete(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const prefixed = keys.map((key) => this.#key(key));
    // Cluster refuses one UNLINK over keys of different slots; one per key is always allowed.
    if (this.redis instanceof Cluster) {
      const counts = await this.#run((r) => Promise.all(prefixed.map((key) => r.unlink(key))));
      return counts.reduce((sum, count) => sum + count, 0);
    }
    return this.#run((r) => r.unlink(...prefixed));
  }

  async increment(key: string, by: Record<string, number>, ttlSeconds: number): Promise<Record<string, number>> {
    assertCounters(by);
    const ms = milliseconds(ttlSeconds);
    const steps = Object.entries(by).flatMap(([name, step]) => [name, step]);
    const flat = await this.#run((r) => r.gatehouseIncrement(this.#key(key), ms, ...steps));
    const counts: Record<string, number> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) counts[flat[i]!] = Number(flat[i + 1]);
    return counts;
  }

  async addToSet(key: string, members: string[], ttlSeconds: number): Promise<void> {
    if (members.length === 0) return;
    const ms = milliseconds(ttlSeconds);
    await this.#run((r) => r.gatehouseAddToSet(this.#key(key), ms, ...members));
  }

  async removeFromSet(key: string, members: string[]): Promise<void> {
    if (members.length === 0) return;
    await this.#run((r) => r.srem(this.#key(key), ...members));
  }

  async members(key: string): Promise<string[]> {
    return this.#run((r) => r.smembers(this.#key(key)));
  }

  /**
   * One pipeline: sent together on one connection (a Cluster node's, since one tenant's keys share
   * a slot), which runs the commands in order. The first failed command's error is thrown.
   */
  async writeInOrder(writes: readonly EphemeralWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const write of writes) {
      if (write.op === 'set') pipeline.set(this.#key(write.key), write.value, 'PX', milliseconds(write.ttlSeconds));
      else if (write.op === 'addToSet') {
        if (write.members.length > 0) pipeline.gatehouseAddToSet(this.#key(write.key), milliseconds(write.ttlSeconds), ...write.members);
      } else if (write.op === 'removeFromSet') {
        if (write.members.length > 0) pipeline.srem(this.#key(write.key), ...write.members);
      } else if (write.keys.length > 0) pipeline.unlink(...write.keys.map((key) => this.#key(key)));
    }
    if (pipeline.length === 0) return;
    const results = await this.#run(async () => (await pipeline.exec()) ?? []);
    const failed = results.find(([error]) => error);
    if (failed) throw translate(failed[0]);
  }

  /**
   * SCAN for the prefix (on every primary of a Cluster: each holds its own slots) and UNLINK what
   * it finds in batches, one key per command so Cluster's same-slot rule never applies. Keys written
   * while it runs may survive: callers delete a tenant after it stopped being served.
   */
  async deletePrefix(prefix: string): Promise<number> {
    if (prefix === '') throw new RangeError('deletePrefix needs a non-empty prefix');
    const match = `${globEscape(this.#key(prefix))}*`;
    const nodes: Redis[] = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    let deleted = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.#run(() => node.scan(cursor, 'MATCH', match, 'COUNT', BATCH));
        cursor = next;
        if (keys.length === 0) continue;
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.unlink(key);
        const results = (await this.#run(() => pipeline.exec())) ?? [];
        for (const [error, count] of results) {
          if (error) throw translate(error);
          deleted += Number(count);
        }
      } while (cursor !== '0');
    }
    return deleted;
  }

  async ping(): Promise<void> {
    await this.#run((r) => r.ping());
  }

  async close(): Promise<void> {
    await closeRedisConnection(this.redis);
  }
}
