import { randomBytes } from 'node:crypto';
import { DuplicateKeyError, type Collection, type Store } from '../../adapters/store.js';
import { AppError } from '../errors.js';

/** NameID formats Gatehouse issues (SAML Core 8.3). */
export const nameIdFormats = {
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
} as const;
export type NameIdFormat = (typeof nameIdFormats)[keyof typeof nameIdFormats];

/** Attribute `NameFormat`s (SAML Core 8.2). */
export const attributeNameFormats = {
  uri: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
  basic: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
  unspecified: 'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified',
} as const;
export type AttributeNameFormat = (typeof attributeNameFormats)[keyof typeof attributeNameFormats];

/** What of a user an attribute carries. */
export const attributeSources = ['user_id', 'username', 'email', 'email_verified', 'given_name', 'family_name', 'name', 'phone', 'roles'] as const;
export type AttributeSource = (typeof attributeSources)[number];

export const bindings = {
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
} as const;
export type Binding = (typeof bindings)[keyof typeof bindings];

export const signatureAlgorithms = ['rsa-sha256', 'rsa-sha384', 'rsa-sha512', 'rsa-sha1'] as const;
export type SignatureAlgorithm = (typeof signatureAlgorithms)[number];

export const encryptionAlgorithms = ['aes256-gcm', 'aes256-cbc'] as const;
export type EncryptionAlgorithm = (typeof encryptionAlgorithms)[number];

export interface AssertionConsumerService {
  url: string;
  /** always HTTP-POST: the Web SSO profile forbids sending a Response over HTTP-Redirect */
  binding: typeof bindings.post;
  index: number;
  isDefault: boolean;
}

export interface AttributeMapping {
  name: string;
  nameFormat: AttributeNameFormat;
  friendlyName?: string;
  source: AttributeSource;
}

/** A service provider registered with a tenant, as checked by `saml/registration.ts`. */
export interface SamlAppFields {
  name: string;
  entityId: string;
  acs: AssertionConsumerService[];
  slo?: { url: string; binding: Binding; responseUrl?: string };
  /** base64 DER; the SP signs AuthnRequests and LogoutRequests with one of these keys */
  signingCertificates: string[];
  encryptionCertificate?: string;
  /** the formats the SP may ask for; the first is used when it asks for none */
  nameIdFormats: NameIdFormat[];
  authnRequestsSigned: boolean;
  signResponse: boolean;
  signAssertion: boolean;
  encryptAssertion: boolean;
  encryptionAlgorithm: EncryptionAlgorithm;
  signatureAlgorithm: SignatureAlgorithm;
  allowSha1: boolean;
  attributes: AttributeMapping[];
  assertionLifetimeSeconds: number;
  clockSkewSeconds: number;
  idpInitiated: { allowed: boolean; defaultRelayState?: string };
  /** who may sign in to the app: everyone, or the listed users and members of the listed roles */
  access: { allUsers: boolean; userIds: string[]; roles: string[] };
  /** where the metadata came from, if it was fetched (for a later refresh) */
  metadataUrl?: string;
}

export interface SamlApp extends SamlAppFields {
  id: string;
  tenant: string;
  /**
   * The tenant's SAML key this app is signed with instead of the tenant's active one (a per-app
   * activation, `saml/certificate-pin.ts`); not a registration field, so an update leaves it be.
   */
  signingKid?: string;
  createdAt: Date;
  updatedAt: Date;
}

interface SamlAppDoc extends SamlAppFields {
  _id: string;
  tenant: string;
  id: string;
  signingKid?: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The most apps "My apps" lists (a page, not a directory: beyond this, people open apps from the apps). */
export const MAX_OPENABLE = 200;

/** App ids: 16 random characters, so they reveal nothing of the order apps were added in. */
export function newSamlAppId(): string {
  return `sp_${randomBytes(12).toString('base64url')}`;
}

/** The service providers (SAML apps) of each tenant. The entity ID is unique per tenant (index in adapters/indexes.ts). */
export class SamlAppRepository {
  readonly #apps: Collection<SamlAppDoc>;

  constructor(store: Store) {
    this.#apps = store.collection<SamlAppDoc>('saml_apps');
  }

  async create(tenant: string, fields: SamlAppFields, now = new Date()): Promise<SamlApp> {
    const id = newSamlAppId();
    const doc: SamlAppDoc = { ...fields, _id: key(tenant, id), tenant, id, createdAt: now, updatedAt: now };
    await this.#write(() => this.#apps.insertOne(doc), fields.entityId);
    return record(doc);
  }

  async get(tenant: string, id: string): Promise<SamlApp | null> {
    const doc = await this.#apps.findOne({ _id: key(tenant, id), tenant });
    return doc ? record(doc) : null;
  }

  /** The app an AuthnRequest's `Issuer` names. */
  async findByEntityId(tenant: string, entityId: string): Promise<SamlApp | null> {
    const doc = await this.#apps.findOne({ tenant, entityId });
    return doc ? record(doc) : null;
  }

  /** The apps sign-on may start at Gatehouse for (`idp_initiated.allowed`), by name: the console's "My apps". */
  async listOpenable(tenant: string, limit = MAX_OPENABLE): Promise<SamlApp[]> {
    const docs = await this.#apps.find({ tenant, 'idpInitiated.allowed': true }, { sort: { id: 1 }, limit });
    return docs.map(record).sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  /** One page by id; `after` is the last id of the previous page. */
  async list(tenant: string, options: { after?: string; limit: number }): Promise<SamlApp[]> {
    const docs = await this.#apps.find({ tenant, ...(options.after !== undefined ? { id: { $gt: options.after } } : {}) }, { sort: { id: 1 }, limit: options.limit });
    return docs.map(record);
  }

  /** Replaces every field; null when the app is gone. */
  async update(tenant: string, id: string, fields: SamlAppFields, now = new Date()): Promise<SamlApp | null> {
    const unset = optionalFields.filter((name) => fields[name] === undefined);
    const result = await this.#write(
      () => this.#apps.updateOne({ _id: key(tenant, id), tenant }, { $set: { ...fields, updatedAt: now }, ...(unset.length ? { $unset: Object.fromEntries(unset.map((name) => [name, true as const])) } : {}) }),
      fields.entityId,
    );
    return result.matched ? this.get(tenant, id) : null;
  }

  /** Pins the app to one of the tenant's SAML keys, or (`undefined`) has it follow the tenant's active key again; null when the app is gone. */
  async setSigningKid(tenant: string, id: string, kid: string | undefined, now = new Date()): Promise<SamlApp | null> {
    const change = kid === undefined ? { $set: { updatedAt: now }, $unset: { signingKid: true as const } } : { $set: { signingKid: kid, updatedAt: now } };
    const result = await this.#apps.updateOne({ _id: key(tenant, id), tenant }, change);
    return result.matched ? this.get(tenant, id) : null;
  }

  /** The apps pinned to a key (which must not be retired while they are). */
  async pinnedTo(tenant: string, kid: string): Promise<SamlApp[]> {
    return (await this.#apps.find({ tenant, signingKid: kid })).map(record);
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    return (await this.#apps.deleteOne({ _id: key(tenant, id), tenant })) === 1;
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#apps.deleteMany({ tenant });
  }

  /** A write whose unique index is the entity ID: a second app with it is a 409 naming the field. */
  async #write<T>(write: () => Promise<T>, entityId: string): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw new AppError('conflict', `Invalid body: "entity_id": another SAML app of this tenant has the entity ID "${entityId}".`);
      throw error;
    }
  }
}

const optionalFields = ['slo', 'encryptionCertificate', 'metadataUrl'] as const satisfies ReadonlyArray<keyof SamlAppFields>;

function key(tenant: string, id: string): string {
  return `${tenant}:${id}`;
}

function record(doc: SamlAppDoc): SamlApp {
  const { _id: _key, ...app } = doc;
  return app;
}
