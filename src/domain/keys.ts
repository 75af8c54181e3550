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
}

export interface TenantKeys {
  /** Private JWKs, newest first; oidc-provider signs with the first key of each algorithm. */
  jwks: { keys: JWK[] };
  /** Cookie signing keys, newest first. */
  cookieKeys: string[];
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

  async load(tenant: string): Promise<TenantKeys | null> {
    const docs = await this.#keys.find({ tenant }, { sort: { createdAt: -1 } });
    const signing = docs.filter((doc) => doc.kind === 'signing');
    const cookies = docs.filter((doc) => doc.kind === 'cookie');
    const hasEveryAlg = signingAlgs.every((alg) => signing.some((doc) => doc.alg === alg));
    if (!hasEveryAlg || cookies.length === 0) return null;
    return {
      jwks: { keys: signing.map((doc) => JSON.parse(this.box.open(doc.secret, purpose(doc))) as JWK) },
      cookieKeys: cookies.map((doc) => this.box.open(doc.secret, purpose(doc))),
    };
  }

  /**
   * Adds a new key of every algorithm and a new cookie key. Older keys stay published so tokens
   * they signed verify until they expire; the new ones sign from the next provider build on.
   */
  async rotate(tenant: string, now = new Date()): Promise<void> {
    for (const alg of signingAlgs) {
      const kid = randomUUID();
      const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
      const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
      await this.#insert({ _id: kid, tenant, kind: 'signing', alg, createdAt: now }, JSON.stringify(jwk));
    }
    await this.#insert({ _id: randomUUID(), tenant, kind: 'cookie', createdAt: now }, randomBytes(32).toString('base64url'));
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
