import { randomBytes, randomUUID } from 'node:crypto';
import { DuplicateKeyError, type Collection, type Store } from '../../adapters/store.js';
import { AppError } from '../errors.js';
import { summary, type FactorDoc, type FactorSummary } from './mfa-factors.js';

/** Passkeys per user: every sign-in lists them (`allowCredentials`), so they are bounded. */
export const MAX_WEBAUTHN_CREDENTIALS = 20;

/** A verified credential as registration stores it. */
export interface NewWebAuthnCredential {
  name: string;
  credentialId: string;
  publicKey: string;
  counter: number;
  transports: string[];
  aaguid: string;
  backupEligible: boolean;
  backedUp: boolean;
  deviceType: 'singleDevice' | 'multiDevice';
  hardwareBound: boolean;
  userHandle: string;
}

/** A stored credential, for the verifier only (public key and counter are never shown). */
export interface StoredWebAuthnCredential extends Omit<NewWebAuthnCredential, 'name' | 'aaguid' | 'backedUp'> {
  factorId: string;
  userId: string;
}

interface HandleDoc {
  /** `${tenant}:${userId}` */
  _id: string;
  tenant: string;
  userId: string;
  handle: string;
}

function stored(doc: FactorDoc): StoredWebAuthnCredential {
  return {
    factorId: doc._id,
    userId: doc.userId,
    credentialId: doc.credentialId ?? '',
    publicKey: doc.publicKey ?? '',
    counter: doc.counter ?? 0,
    transports: doc.transports ?? [],
    backupEligible: doc.backupEligible ?? false,
    deviceType: doc.deviceType ?? 'singleDevice',
    hardwareBound: doc.hardwareBound ?? false,
    userHandle: doc.userHandle ?? '',
  };
}

const isWebAuthnSlot = (slot: FactorDoc['slot']): boolean => slot?.startsWith('webauthn:') ?? false;

/**
 * WebAuthn credentials (passkeys, security keys): factors of type `webauthn` in the `mfa_factors`
 * collection, so listing, removal and the removal rule treat them like any factor. Everything is
 * per tenant: path-based tenants share one RP ID, so a credential is found only in its tenant, and
 * a credential ID is unique per tenant (a sparse unique index, which also decides between parallel
 * registrations). A user's passkeys take numbered places under the index that keeps one set of
 * recovery codes per user, so parallel registrations cannot pass {@link MAX_WEBAUTHN_CREDENTIALS}.
 * User handles (what the authenticator keeps as the account) are random per tenant and account.
 */
export class WebAuthnCredentialRepository {
  readonly #factors: Collection<FactorDoc>;
  readonly #handles: Collection<HandleDoc>;

  constructor(store: Store) {
    this.#factors = store.collection<FactorDoc>('mfa_factors');
    this.#handles = store.collection<HandleDoc>('webauthn_user_handles');
  }

  /** The user's credentials, oldest first (for `excludeCredentials` / `allowCredentials`). */
  async ofUser(tenant: string, userId: string): Promise<StoredWebAuthnCredential[]> {
    const docs = await this.#factors.find({ tenant, userId, type: 'webauthn' }, { sort: { createdAt: 1, _id: 1 } });
    return docs.map(stored);
  }

  /** The credential with this ID in this tenant only (another tenant's is as good as unknown). */
  async find(tenant: string, credentialId: string): Promise<StoredWebAuthnCredential | null> {
    const doc = await this.#factors.findOne({ tenant, type: 'webauthn', credentialId });
    return doc ? stored(doc) : null;
  }

  /**
   * Stores a verified credential in a free place of the user's. A credential ID already registered
   * in the tenant (by anyone, also in a parallel request) is `webauthn_credential_exists` (409); a
   * user with {@link MAX_WEBAUTHN_CREDENTIALS} is a `conflict`.
   */
  async create(tenant: string, userId: string, input: NewWebAuthnCredential, now = new Date()): Promise<FactorSummary> {
    const held = await this.#factors.find({ tenant, userId, type: 'webauthn' });
    const taken = new Set(held.map((doc) => doc.slot).filter(isWebAuthnSlot));
    for (let place = 0; place < MAX_WEBAUTHN_CREDENTIALS; place += 1) {
      const slot = `webauthn:${place}` as const;
      if (taken.has(slot)) continue;
      const doc: FactorDoc = { _id: randomUUID(), tenant, userId, type: 'webauthn', createdAt: now, slot, ...input };
      try {
        await this.#factors.insertOne(doc);
        return summary(doc);
      } catch (error) {
        if (!(error instanceof DuplicateKeyError)) throw error;
        if (error.key?.split(',').includes('credentialId')) {
          throw new AppError('webauthn_credential_exists', 'This passkey or security key is already registered.');
        }
        // Another registration took this place first: try the next one.
        if (!error.key?.split(',').includes('slot')) throw error;
      }
    }
    throw new AppError('conflict', `A user has at most ${MAX_WEBAUTHN_CREDENTIALS} passkeys; remove one first.`);
  }

  /**
   * Records an assertion's counter `next` only if it is greater than the stored one, or both are 0
   * (an authenticator without a counter, as synced passkeys are): one conditional write, so of
   * parallel assertions with the same count at most one passes. Updates `backedUp` and `lastUsedAt`.
   */
  async recordUse(tenant: string, factorId: string, next: number, backedUp: boolean, now = new Date()): Promise<boolean> {
    const counter = next === 0 ? 0 : { $lt: next };
    const filter = { _id: factorId, tenant, type: 'webauthn', counter };
    return (await this.#factors.findOneAndUpdate(filter, { $set: { counter: next, backedUp, lastUsedAt: now } })) !== null;
  }

  /** Renames one of the user's credentials; null when they have no such credential. */
  async rename(tenant: string, userId: string, factorId: string, name: string): Promise<FactorSummary | null> {
    const doc = await this.#factors.findOneAndUpdate({ _id: factorId, tenant, userId, type: 'webauthn' }, { $set: { name } });
    return doc ? summary(doc) : null;
  }

  /**
   * The user's handle in this tenant, made on first use: 32 random bytes (base64url), no personal
   * data, never reused for another account. Of parallel first uses, one handle is kept.
   */
  async userHandle(tenant: string, userId: string): Promise<string> {
    const _id = `${tenant}:${userId}`;
    const existing = await this.#handles.findOne({ _id });
    if (existing) return existing.handle;
    try {
      const handle = randomBytes(32).toString('base64url');
      await this.#handles.insertOne({ _id, tenant, userId, handle });
      return handle;
    } catch (error) {
      const winner = error instanceof DuplicateKeyError ? await this.#handles.findOne({ _id }) : null;
      if (!winner) throw error;
      return winner.handle;
    }
  }

  /** The account a user handle belongs to, in this tenant only. */
  async userIdByHandle(tenant: string, handle: string): Promise<string | undefined> {
    return (await this.#handles.findOne({ tenant, handle }))?.userId;
  }

  /** A user was deleted: their handle goes (their credentials go with their factors). */
  async deleteUser(tenant: string, userId: string): Promise<void> {
    await this.#handles.deleteOne({ _id: `${tenant}:${userId}` });
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#handles.deleteMany({ tenant });
  }
}
