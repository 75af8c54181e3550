import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { DuplicateKeyError, type Collection, type Store } from '../../adapters/store.js';
import { AppError } from '../errors.js';
import { keyTimelines, nextStateChange, type KeyRetention, type KeyState, type KeyTimeline } from './key-states.js';
import type { SecretBox } from './secrets.js';

/** Signing algorithms every tenant has a key for (OIDC requires RS256; ES256 is the compact one). */
export const signingAlgs = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof signingAlgs)[number];

interface KeyDoc {
  _id: string;
  tenant: string;
  kind: 'signing' | 'cookie';
  alg?: SigningAlg;
  /** sealed with the master key; for signing keys the private JWK as JSON */
  secret: string;
  createdAt: Date;
  /** from when the key signs; before that it is only published (JWKS) or accepted (cookies) */
  activatesAt?: Date;
  /** cookie keys: which of the tenant's {@link MAX_KEY_SETS} places the rotation took (unique index in `adapters/indexes.ts`) */
  slot?: number;
}

export interface TenantKeys {
  /** Private JWKs: the active key of each algorithm first (oidc-provider signs with the first key of each), then retired and next keys, all published. */
  jwks: { keys: JWK[] };
  /** Cookie keys: the active one first (it signs), then retired and next ones (still accepted). */
  cookieKeys: string[];
  /** the next moment a key changes state; the tenant must be rebuilt then */
  nextChange?: Date;
}

/** What may be shown of a key: never its secret. */
export type KeyInfo = Omit<KeyTimeline<KeyDoc>, 'key'> & { kid: string; kind: KeyDoc['kind']; alg?: SigningAlg; createdAt: Date };

/** Key sets a tenant may hold at once (each rotation adds one), so its JWKS and key list stay small. */
export const MAX_KEY_SETS = 20;

const stateOrder: Record<KeyState, number> = { active: 0, retired: 1, next: 2, unpublished: 3 };

/**
 * A tenant's key material, stored encrypted (the purpose string binds each sealed value to its
 * tenant and id). Every instance reads the same keys from the store and derives the same states
 * from their timestamps (`key-states.ts`), so all publish one JWKS and sign with the same key.
 */
export class KeyRepository {
  readonly #keys: Collection<KeyDoc>;

  constructor(
    store: Store,
    private readonly box: SecretBox,
    private readonly retention: KeyRetention,
  ) {
    this.#keys = store.collection<KeyDoc>('keys');
  }

  async #timelines(tenant: string, now: Date): Promise<KeyTimeline<KeyDoc>[]> {
    const docs = await this.#keys.find({ tenant }, { sort: { createdAt: -1 } });
    return keyTimelines(docs, this.retention, now).sort(
      (a, b) => stateOrder[a.state] - stateOrder[b.state] || b.activatesAt.getTime() - a.activatesAt.getTime(),
    );
  }

  /**
   * The tenant's keys as oidc-provider wants them, or null when some algorithm (or the cookies)
   * has no active key. Next keys are published in the JWKS (and accepted for cookies) by every
   * instance before any instance signs with them; retired keys stay until their tokens expire.
   */
  async load(tenant: string, now = new Date()): Promise<TenantKeys | null> {
    const timelines = await this.#timelines(tenant, now);
    const kept = timelines.filter((timeline) => timeline.state !== 'unpublished');
    const signing = kept.filter((timeline) => timeline.key.kind === 'signing');
    const cookies = kept.filter((timeline) => timeline.key.kind === 'cookie');
    const active = (timeline: KeyTimeline<KeyDoc>) => timeline.state === 'active';
    const hasEveryAlg = signingAlgs.every((alg) => signing.some((timeline) => timeline.key.alg === alg && active(timeline)));
    if (!hasEveryAlg || !cookies.some(active)) return null;
    const nextChange = nextStateChange(timelines, now);
    return {
      jwks: { keys: signing.map(({ key }) => JSON.parse(this.box.open(key.secret, purpose(key))) as JWK) },
      cookieKeys: cookies.map(({ key }) => this.box.open(key.secret, purpose(key))),
      ...(nextChange ? { nextChange } : {}),
    };
  }

  /** Every stored key of the tenant with its state and times, without secret material. */
  async list(tenant: string, now = new Date()): Promise<KeyInfo[]> {
    return (await this.#timelines(tenant, now)).map(({ key, ...timeline }) => ({
      kid: key._id,
      kind: key.kind,
      ...(key.alg ? { alg: key.alg } : {}),
      createdAt: key.createdAt,
      ...timeline,
    }));
  }

  /**
   * Adds a new key of every algorithm and a new cookie key, published at once and signing from
   * `activateAfterSeconds` on (immediately for a tenant that has no keys yet). Older keys stay
   * published until what they signed has expired; keys past that are deleted here.
   *
   * A tenant holds at most {@link MAX_KEY_SETS} sets, and the store decides it, not a count read
   * before the write: each rotation's cookie key takes a free place (slot) under a unique index, so
   * of many simultaneous rotations at most the free places succeed (the others get a conflict).
   */
  async rotate(tenant: string, options: { activateAfterSeconds?: number; now?: Date } = {}): Promise<{ activatesAt: Date; kids: string[] }> {
    return (await this.#rotate(tenant, { ...options, first: false }))!;
  }

  /**
   * The first keys of a tenant that has none (development's automatic keys). Of instances racing
   * to create them exactly one does: the first key set takes place 0, which a second claim
   * collides with. Answers false when another caller is creating them (or the tenant has keys):
   * wait for its keys rather than add a second set that would retire the first at once.
   */
  async createFirst(tenant: string, now = new Date()): Promise<boolean> {
    return (await this.#rotate(tenant, { now, first: true })) !== undefined;
  }

  async #rotate(tenant: string, options: { activateAfterSeconds?: number; now?: Date; first: boolean }): Promise<{ activatesAt: Date; kids: string[] } | undefined> {
    const now = options.now ?? new Date();
    const timelines = await this.#timelines(tenant, now);
    const gone = timelines.filter((timeline) => timeline.state === 'unpublished').map((timeline) => timeline.key._id);
    if (gone.length) await this.#keys.deleteMany({ tenant, _id: { $in: gone } });
    const cookies = timelines.filter((timeline) => timeline.key.kind === 'cookie' && timeline.state !== 'unpublished').map((timeline) => timeline.key);
    const hasKeys = (await this.load(tenant, now)) !== null;
    if (options.first && (hasKeys || timelines.length > 0)) return undefined;
    const activatesAt = new Date(now.getTime() + (hasKeys ? (options.activateAfterSeconds ?? 0) * 1000 : 0));
    const cookieId = await this.#insertCookieKey(tenant, cookies, { createdAt: now, activatesAt }, options.first ? 1 : MAX_KEY_SETS);
    if (cookieId === undefined) return undefined;
    const kids: string[] = [];
    for (const alg of signingAlgs) {
      const kid = randomUUID();
      const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
      const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
      await this.#insert({ _id: kid, tenant, kind: 'signing', alg, createdAt: now, activatesAt }, JSON.stringify(jwk));
      kids.push(kid);
    }
    return { activatesAt, kids: [...kids, cookieId] };
  }

  /** The rotation's cookie key, in the first free place; a conflict when every place is held. */
  async #insertCookieKey(tenant: string, held: KeyDoc[], times: { createdAt: Date; activatesAt: Date }, limit: number): Promise<string | undefined> {
    // Keys from before places fill the top ones, which are never handed out meanwhile.
    const places = Math.min(limit, MAX_KEY_SETS - held.filter((key) => key.slot === undefined).length);
    const taken = new Set(held.map((key) => key.slot));
    for (let slot = 0; slot < places; slot += 1) {
      if (taken.has(slot)) continue;
      const _id = randomUUID();
      try {
        await this.#insert({ _id, tenant, kind: 'cookie', slot, ...times }, randomBytes(32).toString('base64url'));
        return _id;
      } catch (error) {
        if (!(error instanceof DuplicateKeyError)) throw error;
      }
    }
    // A first key set lost its one place to a parallel creator.
    if (limit < MAX_KEY_SETS) return undefined;
    throw new AppError('conflict', `Tenant ${tenant} holds ${MAX_KEY_SETS} key sets, the most it may; rotate again once older keys are unpublished (see GET /admin/v1/tenants/${tenant}/keys).`);
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#keys.deleteMany({ tenant });
  }

  async #insert(doc: Omit<KeyDoc, 'secret'>, secret: string): Promise<void> {
    await this.#keys.insertOne({ ...doc, secret: this.box.seal(secret, purpose(doc)) } as KeyDoc);
  }
}

function purpose(doc: Pick<KeyDoc, '_id' | 'tenant' | 'kind'>): string {
  return `${doc.kind}-key:${doc.tenant}:${doc._id}`;
}
