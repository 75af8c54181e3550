import { randomUUID } from 'node:crypto';
import { DuplicateKeyError, type Collection, type Store } from '../../adapters/store.js';
import { AppError } from '../errors.js';
import type { SecretBox } from './secrets.js';
import { generateSigningCertificate, type RsaModulusLength } from './x509.js';

interface SamlKeyDoc {
  _id: string;
  tenant: string;
  /** base64 DER */
  certificate: string;
  fingerprint: string;
  modulusLength: number;
  notBefore: Date;
  notAfter: Date;
  /** the PKCS #8 PEM private key, sealed with the master key */
  secret: string;
  createdAt: Date;
  /** set when the key first signs; a key without it that no pointer names is an unfinished creation */
  activatedAt?: Date;
}

/**
 * Which key of a tenant signs, and which is staged. One document per tenant, changed only by
 * compare-and-set, so activation is one atomic step: every reader sees the old or the new active
 * key, never none or two. An app may be pinned to another published key (`SamlApp.signingKid`).
 */
interface PointerDoc {
  _id: string;
  tenant: string;
  active: string;
  next?: string;
  updatedAt: Date;
}

/**
 * next: published in the IdP metadata, not signing yet; active: signs; previous: was active,
 * still published (SPs that pinned it keep working) until the operator retires it.
 */
export type SamlKeyState = 'next' | 'active' | 'previous';

/** What may be shown of a key: its certificate, never its private key. */
export interface SamlKeyInfo {
  kid: string;
  state: SamlKeyState;
  certificate: string;
  fingerprint: string;
  modulusLength: number;
  notBefore: Date;
  notAfter: Date;
  createdAt: Date;
  activatedAt?: Date;
}

export interface NewSamlKeyOptions {
  modulusLength: RsaModulusLength;
  validityDays: number;
}

/** Keys a tenant may hold at once: the active one, a next one and a few previous ones awaiting retirement. */
export const MAX_SAML_KEYS = 5;

/** Defaults of a generated key: RSA 2048 (accepted by every SP) and ten years (SPs pin certificates). */
export const defaultSamlKey: NewSamlKeyOptions = { modulusLength: 2048, validityDays: 3650 };

/** An unfinished creation older than this was abandoned (its process died) and may be deleted. */
const ABANDONED_AFTER_MS = 10 * 60_000;

const stateOrder: Record<SamlKeyState, number> = { active: 0, next: 1, previous: 2 };

/**
 * The SAML signing keys of each tenant: RSA keys with self-signed certificates, private keys
 * sealed at rest. Rotation is explicit, because many SPs pin the one certificate pasted into
 * them: create a next key (published at once), activate it when the SPs have it, retire the old.
 */
export class SamlKeyRepository {
  readonly #keys: Collection<SamlKeyDoc>;
  readonly #pointers: Collection<PointerDoc>;

  constructor(
    store: Store,
    private readonly box: SecretBox,
  ) {
    this.#keys = store.collection<SamlKeyDoc>('saml_keys');
    this.#pointers = store.collection<PointerDoc>('saml_key_pointers');
  }

  /**
   * The tenant's keys, active first; a tenant without any gets its first key here, so every
   * tenant has a certificate from its first SAML request or admin look on. Of racing first
   * creations one wins (the pointer's `_id` is the tenant); the others discard theirs.
   */
  async list(tenant: string, now = new Date()): Promise<SamlKeyInfo[]> {
    const pointer = (await this.#pointers.findOne({ _id: tenant })) ?? (await this.#createFirst(tenant, now));
    const docs = await this.#keys.find({ tenant });
    return docs
      .flatMap((doc) => {
        const state = stateOf(doc, pointer);
        return state ? [info(doc, state)] : [];
      })
      .sort((a, b) => stateOrder[a.state] - stateOrder[b.state] || b.createdAt.getTime() - a.createdAt.getTime());
  }

  /**
   * A key with its private key, for signing: the active one, or the published key `kid` an app is
   * pinned to. A pin to a key that is gone fails closed (503), never falls back to another key.
   */
  async signingKey(tenant: string, now = new Date(), kid?: string): Promise<SamlKeyInfo & { privateKeyPem: string }> {
    const keys = await this.list(tenant, now);
    const chosen = kid === undefined ? keys[0]! : keys.find((key) => key.kid === kid);
    const doc = chosen ? await this.#keys.findOne({ _id: chosen.kid, tenant }) : null;
    if (!chosen || !doc) throw new AppError('no_signing_keys', 'The SAML certificate this app is signed with is no longer published. Its administrator must pin the app to another certificate or unpin it.');
    return { ...chosen, privateKeyPem: this.box.open(doc.secret, purpose(doc)) };
  }

  /** Stages a new key, published at once; 409 when one is staged already or the tenant holds {@link MAX_SAML_KEYS}. */
  async createNext(tenant: string, options: NewSamlKeyOptions, now = new Date()): Promise<SamlKeyInfo> {
    const current = await this.list(tenant, now);
    if (current.some((key) => key.state === 'next')) throw new AppError('conflict', 'This tenant has a next SAML certificate already: activate it, or retire it to stage another.');
    if (current.length >= MAX_SAML_KEYS) throw new AppError('conflict', `This tenant holds ${MAX_SAML_KEYS} SAML certificates, the most it may: retire a previous one first.`);
    await this.#deleteAbandoned(tenant, now);
    const doc = await this.#newKey(tenant, options, now);
    await this.#keys.insertOne(doc);
    // Only one next key at a time: of parallel creations, one sets the pointer's `next`.
    const staged = await this.#pointers.findOneAndUpdate({ _id: tenant, next: { $exists: false } }, { $set: { next: doc._id, updatedAt: now } });
    if (!staged) {
      await this.#keys.deleteOne({ _id: doc._id });
      throw new AppError('conflict', 'Another next SAML certificate was staged at the same time: activate it, or retire it to stage another.');
    }
    return info(doc, 'next');
  }

  /** Makes the next key the active one; the formerly active key stays published as previous. */
  async activate(tenant: string, kid: string, now = new Date()): Promise<{ activated: SamlKeyInfo; previous: SamlKeyInfo }> {
    const keys = await this.list(tenant, now);
    const target = keys.find((key) => key.kid === kid);
    if (!target) throw new AppError('not_found', `There is no SAML certificate "${kid}".`);
    if (target.state !== 'next') throw new AppError('conflict', `SAML certificate "${kid}" is ${target.state}; only the next certificate can be activated (create one first).`);
    const active = keys.find((key) => key.state === 'active')!;
    // Marked before the switch: should the process die between the two writes, the key is still known to have signed.
    await this.#keys.updateOne({ _id: kid, tenant, activatedAt: { $exists: false } }, { $set: { activatedAt: now } });
    const switched = await this.#pointers.findOneAndUpdate({ _id: tenant, active: active.kid, next: kid }, { $set: { active: kid, updatedAt: now }, $unset: { next: true } });
    if (!switched) throw new AppError('conflict', 'The SAML certificates changed at the same time; list them and try again.');
    return { activated: { ...target, state: 'active', activatedAt: target.activatedAt ?? now }, previous: { ...active, state: 'previous' } };
  }

  /**
   * Removes a previous key (it leaves the metadata and its private key is deleted), or withdraws
   * the next one. The active key cannot be retired: activate another first.
   */
  async retire(tenant: string, kid: string, now = new Date()): Promise<SamlKeyInfo> {
    const target = (await this.list(tenant, now)).find((key) => key.kid === kid);
    if (!target) throw new AppError('not_found', `There is no SAML certificate "${kid}".`);
    if (target.state === 'active') throw new AppError('conflict', `SAML certificate "${kid}" is active: create and activate a next one before retiring it.`);
    if (target.state === 'next') {
      const withdrawn = await this.#pointers.findOneAndUpdate({ _id: tenant, next: kid }, { $unset: { next: true }, $set: { updatedAt: now } });
      if (!withdrawn) throw new AppError('conflict', 'The SAML certificates changed at the same time; list them and try again.');
    }
    await this.#keys.deleteOne({ _id: kid, tenant });
    return target;
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#keys.deleteMany({ tenant });
    await this.#pointers.deleteMany({ tenant });
  }

  async #createFirst(tenant: string, now: Date): Promise<PointerDoc> {
    const doc = await this.#newKey(tenant, defaultSamlKey, now);
    await this.#keys.insertOne(doc);
    const pointer: PointerDoc = { _id: tenant, tenant, active: doc._id, updatedAt: now };
    try {
      await this.#pointers.insertOne(pointer);
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      await this.#keys.deleteOne({ _id: doc._id });
      return (await this.#pointers.findOne({ _id: tenant }))!;
    }
    await this.#keys.updateOne({ _id: doc._id }, { $set: { activatedAt: now } });
    return pointer;
  }

  /** Keys no pointer names that never signed, left by a creation whose process died. */
  async #deleteAbandoned(tenant: string, now: Date): Promise<void> {
    const pointer = await this.#pointers.findOne({ _id: tenant });
    const named = [pointer?.active, pointer?.next].filter((kid): kid is string => kid !== undefined);
    await this.#keys.deleteMany({ tenant, _id: { $nin: named }, activatedAt: { $exists: false }, createdAt: { $lt: new Date(now.getTime() - ABANDONED_AFTER_MS) } });
  }

  async #newKey(tenant: string, options: NewSamlKeyOptions, now: Date): Promise<SamlKeyDoc> {
    const generated = await generateSigningCertificate({ commonName: `${tenant} SAML signing (Gatehouse)`, modulusLength: options.modulusLength, validityDays: options.validityDays, now });
    const kid = randomUUID();
    return {
      _id: kid,
      tenant,
      certificate: generated.certificate,
      fingerprint: generated.fingerprint,
      modulusLength: options.modulusLength,
      notBefore: generated.notBefore,
      notAfter: generated.notAfter,
      secret: this.box.seal(generated.privateKeyPem, purpose({ _id: kid, tenant })),
      createdAt: now,
    };
  }
}

function stateOf(doc: SamlKeyDoc, pointer: PointerDoc): SamlKeyState | undefined {
  if (pointer.active === doc._id) return 'active';
  if (pointer.next === doc._id) return 'next';
  return doc.activatedAt ? 'previous' : undefined;
}

function info(doc: SamlKeyDoc, state: SamlKeyState): SamlKeyInfo {
  return {
    kid: doc._id,
    state,
    certificate: doc.certificate,
    fingerprint: doc.fingerprint,
    modulusLength: doc.modulusLength,
    notBefore: doc.notBefore,
    notAfter: doc.notAfter,
    createdAt: doc.createdAt,
    ...(doc.activatedAt ? { activatedAt: doc.activatedAt } : {}),
  };
}

/** Binds each sealed private key to its tenant and id. */
function purpose(doc: Pick<SamlKeyDoc, '_id' | 'tenant'>): string {
  return `saml-key:${doc.tenant}:${doc._id}`;
}
