import { randomUUID } from 'node:crypto';
import { DuplicateKeyError, type Collection, type Store } from '../../adapters/store.js';
import type { SecretBox } from './secrets.js';

/** The kinds of second factor a user can hold. */
export type FactorType = 'totp' | 'recovery_codes' | 'webauthn' | 'sms';

/** A factor as callers see it: never a secret or a hash. `remaining`: unused recovery codes. */
export interface FactorSummary {
  id: string;
  type: FactorType;
  name: string;
  createdAt: Date;
  lastUsedAt?: Date;
  remaining?: number;
  /** webauthn only, for display: how the browser reaches it, and whether it is synced (backed up) */
  transports?: string[];
  backedUp?: boolean;
  /** sms: the number in E.164, for its owner; everyone else is shown `maskPhone` of it */
  phone?: string;
}

/** A stored factor (webauthn fields: `webauthn-credentials.ts`, which shares this collection). */
export interface FactorDoc {
  /** the factor id (random), shown to callers */
  _id: string;
  tenant: string;
  userId: string;
  type: FactorType;
  name: string;
  createdAt: Date;
  lastUsedAt?: Date;
  /** totp: the base32 secret sealed with the master key, bound to this factor (see {@link totpPurpose}) */
  secret?: string;
  /** totp: the last accepted time step; a code is accepted once (RFC 6238 5.2) */
  lastTimeStep?: number;
  /** recovery_codes: hashes of the codes not used yet */
  codeHashes?: string[];
  /**
   * A place under the sparse unique index on (tenant, userId, slot): a user's one set of recovery
   * codes, or one of the numbered places that cap a user's passkeys (`webauthn-credentials.ts`)
   */
  slot?: 'recovery_codes' | `webauthn:${number}`;
  /** webauthn: the credential ID (base64url), unique per tenant (a sparse unique index) */
  credentialId?: string;
  /** webauthn: the COSE public key (base64url); public, but never shown */
  publicKey?: string;
  /** webauthn: the last signature counter accepted (0: the authenticator keeps none) */
  counter?: number;
  transports?: string[];
  aaguid?: string;
  /** webauthn: BE (may be synced; fixed for the credential's life) and BS (is backed up now) */
  backupEligible?: boolean;
  backedUp?: boolean;
  deviceType?: 'singleDevice' | 'multiDevice';
  /** webauthn: whether attestation or flags justify `hwk` (see docs/mfa.md) */
  hardwareBound?: boolean;
  /** webauthn: the user's random handle in this tenant, as the authenticator keeps it */
  userHandle?: string;
  /** sms: the verified number (E.164) and its country (ISO 3166 alpha-2) */
  phone?: string;
  country?: string;
}

/** A TOTP factor's secret, opened, for the verifier only. */
export interface TotpSecret {
  id: string;
  secret: string;
  lastTimeStep?: number;
}

/** The name of a user's one set of recovery codes. */
export const RECOVERY_CODES_NAME = 'Recovery codes';

/** Additional data of a sealed TOTP secret: a sealed value copied to another record does not open. */
function totpPurpose(tenant: string, userId: string, factorId: string): string {
  return `mfa-totp:${tenant}:${userId}:${factorId}`;
}

export function summary(doc: FactorDoc): FactorSummary {
  return {
    id: doc._id,
    type: doc.type,
    name: doc.name,
    createdAt: doc.createdAt,
    ...(doc.lastUsedAt ? { lastUsedAt: doc.lastUsedAt } : {}),
    ...(doc.type === 'recovery_codes' ? { remaining: doc.codeHashes?.length ?? 0 } : {}),
    ...(doc.type === 'webauthn' ? { transports: doc.transports ?? [], backedUp: doc.backedUp ?? false } : {}),
    ...(doc.phone !== undefined ? { phone: doc.phone } : {}),
  };
}

/**
 * A user's second factors (collection `mfa_factors`). Secrets are sealed with the master key and
 * never leave this class but to the verifier ({@link totpSecrets}); single use is enforced by
 * conditional writes, so parallel requests with one code have one winner on every backend.
 * Policy (who may remove what) is the caller's: see `authn/mfa-policy.ts`.
 */
export class MfaFactorRepository {
  readonly #factors: Collection<FactorDoc>;

  constructor(
    store: Store,
    private readonly box: SecretBox,
  ) {
    this.#factors = store.collection<FactorDoc>('mfa_factors');
  }

  /** The user's factors, oldest first. */
  async list(tenant: string, userId: string): Promise<FactorSummary[]> {
    const docs = await this.#factors.find({ tenant, userId }, { sort: { createdAt: 1, _id: 1 } });
    return docs.map(summary);
  }

  /** How many TOTP factors the user has (enrolment caps them). */
  async countTotp(tenant: string, userId: string): Promise<number> {
    return this.#factors.count({ tenant, userId, type: 'totp' });
  }

  /** How many factors of `type` the user has (enrolment caps them). */
  async countOfType(tenant: string, userId: string, type: FactorType): Promise<number> {
    return this.#factors.count({ tenant, userId, type });
  }

  /** Stores a phone whose number a code sent to it confirmed. */
  async createSms(tenant: string, userId: string, input: { name: string; phone: string; country: string }, now = new Date()): Promise<FactorSummary> {
    const doc: FactorDoc = { _id: randomUUID(), tenant, userId, type: 'sms', name: input.name, createdAt: now, phone: input.phone, country: input.country };
    await this.#factors.insertOne(doc);
    return summary(doc);
  }

  /** The user's phones, oldest first, with the country each number belongs to. */
  async smsPhones(tenant: string, userId: string): Promise<Array<{ id: string; phone: string; country: string }>> {
    const docs = await this.#factors.find({ tenant, userId, type: 'sms' }, { sort: { createdAt: 1, _id: 1 } });
    return docs.flatMap((doc) => (doc.phone && doc.country ? [{ id: doc._id, phone: doc.phone, country: doc.country }] : []));
  }

  /** Records that a factor signed the user in. */
  async markUsed(tenant: string, userId: string, factorId: string, now = new Date()): Promise<void> {
    await this.#factors.updateOne({ _id: factorId, tenant, userId }, { $set: { lastUsedAt: now } });
  }

  /** Stores a confirmed TOTP factor; `lastTimeStep` is the step of the code that confirmed it. */
  async createTotp(tenant: string, userId: string, input: { name: string; secret: string; lastTimeStep: number }, now = new Date()): Promise<FactorSummary> {
    const id = randomUUID();
    const doc: FactorDoc = {
      _id: id,
      tenant,
      userId,
      type: 'totp',
      name: input.name,
      createdAt: now,
      secret: this.box.seal(input.secret, totpPurpose(tenant, userId, id)),
      lastTimeStep: input.lastTimeStep,
    };
    await this.#factors.insertOne(doc);
    return summary(doc);
  }

  /** The user's TOTP secrets, opened, with the last step each accepted. */
  async totpSecrets(tenant: string, userId: string): Promise<TotpSecret[]> {
    const docs = await this.#factors.find({ tenant, userId, type: 'totp' }, { sort: { createdAt: 1, _id: 1 } });
    return docs.map((doc) => ({
      id: doc._id,
      secret: this.box.open(doc.secret ?? '', totpPurpose(tenant, userId, doc._id)),
      ...(doc.lastTimeStep !== undefined ? { lastTimeStep: doc.lastTimeStep } : {}),
    }));
  }

  /**
   * Records `step` as the factor's last accepted one, only if it is later than the stored one: of
   * parallel requests with the same code exactly one moves it (compare-and-set in one write).
   */
  async advanceTimeStep(tenant: string, userId: string, factorId: string, step: number, now = new Date()): Promise<boolean> {
    const filter = { _id: factorId, tenant, userId, type: 'totp', $or: [{ lastTimeStep: { $exists: false } }, { lastTimeStep: { $lt: step } }] };
    return (await this.#factors.findOneAndUpdate(filter, { $set: { lastTimeStep: step, lastUsedAt: now } })) !== null;
  }

  /**
   * Replaces the user's recovery codes by `codeHashes` (one set per user: the old codes stop working
   * in the same write). Parallel regenerations leave one of the sets.
   */
  async replaceRecoveryCodes(tenant: string, userId: string, codeHashes: string[], now = new Date()): Promise<FactorSummary> {
    const filter = { tenant, userId, slot: 'recovery_codes' };
    const update = { $set: { type: 'recovery_codes', name: RECOVERY_CODES_NAME, codeHashes, createdAt: now }, $unset: { lastUsedAt: true as const } };
    for (let attempt = 0; ; attempt += 1) {
      try {
        const doc = await this.#factors.findOneAndUpdate(filter, update, { upsert: true });
        if (doc) return summary(doc);
      } catch (error) {
        // Two first generations raced to insert: the loser replaces the winner's set on its next round.
        if (!(error instanceof DuplicateKeyError) || attempt >= 2) throw error;
      }
    }
  }

  /** Uses one recovery code (by hash): true for exactly one of parallel uses of an unused code. */
  async useRecoveryCode(tenant: string, userId: string, codeHash: string, now = new Date()): Promise<boolean> {
    const filter = { tenant, userId, slot: 'recovery_codes', codeHashes: codeHash };
    return (await this.#factors.findOneAndUpdate(filter, { $pull: { codeHashes: codeHash }, $set: { lastUsedAt: now } })) !== null;
  }

  async remove(tenant: string, userId: string, factorId: string): Promise<boolean> {
    return (await this.#factors.deleteOne({ _id: factorId, tenant, userId })) > 0;
  }

  async removeAll(tenant: string, userId: string): Promise<number> {
    return this.#factors.deleteMany({ tenant, userId });
  }

  /** A user was deleted (domain/users.ts): their factors go with them. */
  async deleteUser(tenant: string, userId: string): Promise<void> {
    await this.removeAll(tenant, userId);
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#factors.deleteMany({ tenant });
  }
}
