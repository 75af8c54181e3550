import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Collection, Store } from '../../adapters/store.js';
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
}

export interface TenantKeys {
  /** Private JWKs, newest first; oidc-provider signs with the first key of each algorithm. */
  jwks: { keys: JWK[] };
  /** Cookie signing keys, newest first. */
  cookieKeys: string[];
  /** when a published key starts signing; the tenant must be rebuilt then */
  nextActivation?: Date;
}

/**
 * A tenant's key material, stored encrypted (the purpose string binds each sealed value to its
 * tenant and id). Every instance reads the same keys from the store, so all publish one JWKS.
 */
export class KeyRepository {
  readonly #keys: Collection<KeyDoc>;

  constructor(
    store: Store,
    private readonly box: SecretBox,
  ) {
    this.#keys = store.collection<KeyDoc>('keys');
  }

  /**
   * The tenant's keys as oidc-provider wants them. Active keys come first, newest first, so they
   * sign; keys whose activation lies ahead come after them, so they are already published in the
   * JWKS (and accepted for cookies) by every instance before any instance signs with them.
   */
  async load(tenant: string, now = new Date()): Promise<TenantKeys | null> {
    const docs = await this.#keys.find({ tenant }, { sort: { createdAt: -1 } });
    const active = (doc: KeyDoc) => !doc.activatesAt || doc.activatesAt.getTime() <= now.getTime();
    const ordered = [...docs.filter(active), ...docs.filter((doc) => !active(doc))];
    const signing = ordered.filter((doc) => doc.kind === 'signing');
    const cookies = ordered.filter((doc) => doc.kind === 'cookie');
    const hasEveryAlg = signingAlgs.every((alg) => signing.some((doc) => doc.alg === alg && active(doc)));
    if (!hasEveryAlg || !cookies.some(active)) return null;
    const pending = docs.filter((doc) => !active(doc)).map((doc) => doc.activatesAt!.getTime());
    return {
      jwks: { keys: signing.map((doc) => JSON.parse(this.box.open(doc.secret, purpose(doc))) as JWK) },
      cookieKeys: cookies.map((doc) => this.box.open(doc.secret, purpose(doc))),
      ...(pending.length ? { nextActivation: new Date(Math.min(...pending)) } : {}),
    };
  }

  /**
   * Adds a new key of every algorithm and a new cookie key, published at once and signing from
   * `activateAfterSeconds` on (immediately for a tenant that has no keys yet). Older keys stay
   * published so tokens they signed verify until they expire.
   */
  async rotate(tenant: string, options: { activateAfterSeconds?: number; now?: Date } = {}): Promise<{ activatesAt: Date }> {
    const now = options.now ?? new Date();
    const hasKeys = (await this.load(tenant, now)) !== null;
    const activatesAt = new Date(now.getTime() + (hasKeys ? (options.activateAfterSeconds ?? 0) * 1000 : 0));
    for (const alg of signingAlgs) {
      const kid = randomUUID();
      const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
      const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
      await this.#insert({ _id: kid, tenant, kind: 'signing', alg, createdAt: now, activatesAt }, JSON.stringify(jwk));
    }
    await this.#insert({ _id: randomUUID(), tenant, kind: 'cookie', createdAt: now, activatesAt }, randomBytes(32).toString('base64url'));
    return { activatesAt };
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
