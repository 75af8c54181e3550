/**
 * The baseline's Redis adapter: the smallest oidc-provider adapter that keeps every model in Redis,
 * as a bare oidc-provider deployed on several instances would. Gatehouse in Redis mode is compared
 * with a bare provider on this adapter as well as with the in-memory one, since a round trip to
 * Redis costs any provider the same. It does what the provider needs and no more: values with a
 * lifetime, a consumed marker written only if absent, the uid and user-code pointers, and a set per
 * grant for `revokeByGrantId`. No key layout for Cluster, no tenancy, no ordering guarantees.
 */
import { Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';

export function bareRedisAdapter(url: string): { adapter: new (model: string) => Adapter; close(): Promise<void> } {
  const redis = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  const lifetime = (expiresIn: number | undefined) => Math.max(1, Math.ceil(expiresIn ?? 14 * 86400));

  class BareRedisAdapter implements Adapter {
    constructor(private readonly model: string) {}

    #key(id: string) {
      return `${this.model}:${id}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const seconds = lifetime(expiresIn);
      const multi = redis.multi();
      multi.set(this.#key(id), JSON.stringify(payload), 'EX', seconds);
      if (payload.grantId) {
        multi.sadd(`grant:${payload.grantId}`, this.#key(id));
        multi.expire(`grant:${payload.grantId}`, seconds, 'GT');
      }
      if (payload.uid) multi.set(`uid:${this.model}:${payload.uid}`, id, 'EX', seconds);
      if (payload.userCode) multi.set(`userCode:${payload.userCode}`, id, 'EX', seconds);
      await multi.exec();
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const [raw, consumed] = await redis.mget(this.#key(id), `${this.#key(id)}:consumed`);
      if (!raw) return undefined;
      const payload = JSON.parse(raw) as AdapterPayload;
      return consumed ? { ...payload, consumed: Number(consumed) } : payload;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = await redis.get(`uid:${this.model}:${uid}`);
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const id = await redis.get(`userCode:${userCode}`);
      return id ? this.find(id) : undefined;
    }

    async consume(id: string): Promise<void> {
      const ttl = await redis.ttl(this.#key(id));
      await redis.set(`${this.#key(id)}:consumed`, String(Math.floor(Date.now() / 1000)), 'EX', Math.max(1, ttl), 'NX');
    }

    async destroy(id: string): Promise<void> {
      await redis.del(this.#key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const keys = await redis.smembers(`grant:${grantId}`);
      await redis.del(`grant:${grantId}`, ...keys);
    }
  }

  return {
    adapter: BareRedisAdapter,
    close: async () => {
      await redis.quit();
    },
  };
}
