import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Collection, Store } from '../../adapters/store.js';
import { DuplicateKeyError } from '../../adapters/store.js';
import { AppError } from '../errors.js';

/**
 * A long-lived credential of a service account for the admin API. The key is
 * `ghk_<keyId>_<secret>`: the id finds the record, the secret (256 random bits) is checked against
 * its SHA-256. A plain hash is enough (no argon2): the secret is random, not a password, so there
 * is nothing for a slow hash to protect against, and every admin request would pay for one.
 */
export interface ApiKey {
  /** the key id: 16 hex digits */
  _id: string;
  tenant: string;
  serviceAccountId: string;
  name: string;
  /** SHA-256 of the secret part, base64url */
  secretHash: string;
  /**
   * Which of the account's {@link MAX_KEYS_PER_SERVICE_ACCOUNT} places the key takes, unique per
   * account (index in `adapters/indexes.ts`); missing on keys issued before places existed.
   */
  slot?: number;
  expiresAt?: Date;
  createdAt: Date;
}

/** `ghk_` + 16 hex digits + `_` + 43 base64url characters (32 bytes). */
const keyPattern = /^ghk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** How many keys one service account may hold: enough for rotation with overlap, few enough to audit. */
export const MAX_KEYS_PER_SERVICE_ACCOUNT = 20;

function hash(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export class ApiKeyRepository {
  readonly #keys: Collection<ApiKey>;

  constructor(store: Store) {
    this.#keys = store.collection<ApiKey>('api_keys');
  }

  /**
   * Issues a key; the returned `key` is the only time the secret exists outside the caller's hands.
   *
   * The cap holds under concurrency on every backend because the store, not a count read before the
   * write, decides: each key takes a free place (slot) and a unique index lets two keys never share
   * one, so of many simultaneous issuances at most the free places succeed. A revoked key's place is
   * free again with it; there is no counter to fall out of step with the keys.
   */
  async issue(tenant: string, serviceAccountId: string, input: { name: string; expiresAt?: Date }, now = new Date()): Promise<{ record: ApiKey; key: string }> {
    const held = await this.#keys.find({ tenant, serviceAccountId });
    // Keys without a place (older than places) fill the top ones, which are never handed out meanwhile.
    const places = MAX_KEYS_PER_SERVICE_ACCOUNT - held.filter((key) => key.slot === undefined).length;
    const taken = new Set(held.map((key) => key.slot));
    const free = Array.from({ length: Math.max(places, 0) }, (_, slot) => slot).filter((slot) => !taken.has(slot));
    // Start at a random free place, so simultaneous issuers mostly try different ones.
    const start = free.length > 0 ? randomInt(free.length) : 0;
    for (let i = 0; i < free.length; i += 1) {
      const issued = await this.#insert(tenant, serviceAccountId, input, free[(start + i) % free.length]!, now);
      if (issued) return issued;
    }
    throw new AppError('conflict', `A service account may hold at most ${MAX_KEYS_PER_SERVICE_ACCOUNT} API keys; revoke one first.`);
  }

  /** Inserts a new key in `slot`; `null` when another key took that place first. */
  async #insert(tenant: string, serviceAccountId: string, input: { name: string; expiresAt?: Date }, slot: number, now: Date): Promise<{ record: ApiKey; key: string } | null> {
    const keyId = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKey = {
      _id: keyId,
      tenant,
      serviceAccountId,
      name: input.name,
      secretHash: hash(secret).toString('base64url'),
      slot,
      ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}),
      createdAt: now,
    };
    try {
      await this.#keys.insertOne(record);
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      if (error.key?.split(',').includes('slot')) return null;
      // The other unique index is (tenant, service account, name); a colliding random id is a 1-in-2^64 retry.
      throw new AppError('conflict', `This service account already has an API key named "${input.name}".`);
    }
    return { record, key: `ghk_${keyId}_${secret}` };
  }

  /**
   * The key record a presented key belongs to, or `null` when it is malformed, unknown, revoked or
   * expired: callers answer all of these alike. The secret is compared in constant time.
   */
  async verify(presented: string, now = new Date()): Promise<ApiKey | null> {
    const match = keyPattern.exec(presented);
    if (!match) return null;
    const record = await this.#keys.findOne({ _id: match[1]! });
    if (!record) return null;
    const expected = Buffer.from(record.secretHash, 'base64url');
    const actual = hash(match[2]!);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
    if (record.expiresAt && record.expiresAt.getTime() <= now.getTime()) return null;
    return record;
  }

  /** Whether a string has the shape of an API key (so other token kinds can be told apart). */
  static looksLikeKey(token: string): boolean {
    return token.startsWith('ghk_');
  }

  /** One page of a service account's keys, by id; `after` is the last id of the previous page. */
  async list(tenant: string, serviceAccountId: string, options: { after?: string; limit: number }): Promise<ApiKey[]> {
    return this.#keys.find({ tenant, serviceAccountId, ...(options.after !== undefined ? { _id: { $gt: options.after } } : {}) }, { sort: { _id: 1 }, limit: options.limit });
  }

  async find(tenant: string, serviceAccountId: string, keyId: string): Promise<ApiKey | null> {
    return this.#keys.findOne({ _id: keyId, tenant, serviceAccountId });
  }

  /** Revokes (deletes) a key; false when the service account has no such key. */
  async revoke(tenant: string, serviceAccountId: string, keyId: string): Promise<boolean> {
    return (await this.#keys.deleteOne({ _id: keyId, tenant, serviceAccountId })) > 0;
  }

  async deleteForServiceAccount(tenant: string, serviceAccountId: string): Promise<number> {
    return this.#keys.deleteMany({ tenant, serviceAccountId });
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#keys.deleteMany({ tenant });
  }
}
