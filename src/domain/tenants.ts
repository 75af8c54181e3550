import type { Collection, Store } from '../../adapters/store.js';
import { DuplicateKeyError } from '../../adapters/store.js';
import type { MfaMode } from './acr.js';
import type { FactorType } from './mfa-factors.js';
import type { TenantCibaSettings } from './ciba-settings.js';
import type { EmailTemplate, EmailTemplateName, TenantEmailTemplates } from './email-templates.js';
import type { TenantRegistration } from './registration.js';
import type { TenantProofOfWork } from './proof-of-work-settings.js';
import type { TenantSmsSettings } from './sms-settings.js';
import { AppError } from '../errors.js';

/** A tenant: its own issuer, keys, users and clients. `system` holds the operators. */
export interface TenantBranding {
  /** `#rrggbb` (`accentColorProblem`) */
  accentColor?: string;
  /** an https image URL, not SVG (`logoUrlProblem`) */
  logoUrl?: string;
}

/** Every factor type, the default of `mfaFactors`. */
export const mfaFactorTypes = ['totp', 'recovery_codes', 'webauthn', 'sms'] as const satisfies readonly FactorType[];

export interface TenantSecurityPolicy {
  /**
   * password rules (`authn/password-acceptance.ts`). `breachedCheck` is where a new password is
   * looked up: `list` (the shipped list, and the default when absent), `off`, or `range_api`
   * (`authn/breached-passwords.ts`). The object is replaced whole by a change, which is why absent
   * must mean `list`.
   */
  password?: { minLength?: number; breachedCheck?: 'list' | 'off' | 'range_api' };
  /** enforced by the login policy (`interactions/policy.ts`) and the provider's `acr_unmet` check; `optional` when unset */
  mfa?: MfaMode;
  /** the factor types that count at this tenant; every type when unset. A type removed later stops counting. */
  mfaFactors?: FactorType[];
  /**
   * PKCE for every client, confidential ones included (public clients always need it). Tenants
   * created since this setting exists get `true`; older tenants have no value, which means `false`.
   */
  requirePkce?: boolean;
  /** the device authorization grant (RFC 8628); on, with 10-minute user codes, when unset (`deviceFlowOf`) */
  deviceFlow?: { enabled: boolean; userCodeLifetimeSeconds?: number };
  /** where SMS codes may go, their text and the tenant's own webhook (`domain/sms-settings.ts`) */
  sms?: TenantSmsSettings;
  /** CIBA (OpenID Client-Initiated Backchannel Authentication): off when unset; its notifications and webhook (`domain/ciba-settings.ts`) */
  ciba?: TenantCibaSettings;
  /** self-service sign-up: off when unset (`domain/registration.ts`) */
  registration?: TenantRegistration;
  /** which forms need a solved proof-of-work challenge, and how hard it is; all off when unset (`domain/proof-of-work-settings.ts`) */
  proofOfWork?: TenantProofOfWork;
  /** what users may do for themselves in the account console (docs/accounts.md); each switch off when unset */
  selfService?: TenantSelfService;
}

/** Self-service switches of a tenant: each off unless set. */
export interface TenantSelfService {
  /** users may delete their own account (after signing in again) */
  accountDeletion?: boolean;
}

/** A user code's lifetime when the tenant names none (RFC 8628 leaves it to the server; 10 minutes, as Keycloak's and Auth0's defaults). */
export const DEFAULT_USER_CODE_LIFETIME_SECONDS = 600;

/** A tenant's device flow with its defaults: on, 10-minute user codes. */
export function deviceFlowOf(policy: TenantSecurityPolicy | undefined): { enabled: boolean; userCodeLifetimeSeconds: number } {
  return { enabled: policy?.deviceFlow?.enabled ?? true, userCodeLifetimeSeconds: policy?.deviceFlow?.userCodeLifetimeSeconds ?? DEFAULT_USER_CODE_LIFETIME_SECONDS };
}

export interface Tenant {
  _id: string;
  displayName: string;
  /**
   * a host name that serves this tenant besides `/t/{id}` (routing by host comes later); unique
   * across tenants (a sparse unique index), set only by operators of the system tenant
   */
  customHost?: string;
  branding?: TenantBranding;
  securityPolicy?: TenantSecurityPolicy;
  /** the tenant's own wording of Gatehouse's e-mails (`domain/email-templates.ts`), set through the admin API */
  emailTemplates?: TenantEmailTemplates;
  createdAt: Date;
  updatedAt: Date;
}

/** A change of security policy: a field left out stays as it is, `null` removes it. */
export type TenantPolicyChanges = { [K in Exclude<keyof TenantSecurityPolicy, 'sms' | 'ciba' | 'selfService'>]?: TenantSecurityPolicy[K] | null } & {
  /** merged switch by switch, so one switch set never clears another; `null` turns one off (removes it) */
  selfService?: { [K in keyof TenantSelfService]?: TenantSelfService[K] | null };
  /** merged field by field too; the webhook is set apart (`setSmsWebhook`), with its secret */
  sms?: { [K in 'allowedCountries' | 'message']?: TenantSmsSettings[K] | null };
  /**
   * merged field by field (each channel too); `null` removes the grant's switch and the channels
   * (back to off) but keeps the webhook, which only `setCibaWebhook` sets and removes, with its secret
   */
  ciba?: { enabled?: boolean; notifications?: { sms?: boolean; webhook?: boolean } } | null;
};

export type TenantChanges = Partial<Pick<Tenant, 'displayName' | 'customHost' | 'branding'>> & { securityPolicy?: TenantPolicyChanges };

export const SYSTEM_TENANT = 'system';

/** Lower-case letters, digits and dashes; it appears in URLs (`/t/{id}`) and store keys. */
export const tenantIdPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isValidTenantId(id: string): boolean {
  return tenantIdPattern.test(id);
}

/**
 * The conflict to answer when a write broke the unique index on `customHost`: one host routes to one
 * tenant, and the index (not a read before the write) is what keeps that true under concurrent writes.
 */
function hostTaken(error: unknown, host: string | undefined): AppError | undefined {
  if (!(error instanceof DuplicateKeyError) || error.key !== 'customHost') return undefined;
  return new AppError('conflict', `custom_host "${host ?? ''}" already belongs to another tenant`);
}

/** Every field of a security policy; listed as an object so a field added to the type must be added here. */
const policyFields: { [K in keyof Required<TenantSecurityPolicy>]: true } = { password: true, mfa: true, mfaFactors: true, requirePkce: true, deviceFlow: true, sms: true, ciba: true, registration: true, proofOfWork: true, selfService: true };

/** A tenant's MFA policy with its defaults: `optional`, every factor type. */
export function mfaPolicyOf(policy: TenantSecurityPolicy | undefined): { mfa: MfaMode; factors: readonly FactorType[] } {
  return { mfa: policy?.mfa ?? 'optional', factors: policy?.mfaFactors ?? mfaFactorTypes };
}

/**
 * Field-by-field writes of a security policy change, merged into the stored one: a field it names is
 * set, `null` removes it, a field left out is kept (so changing the password rules never switches
 * PKCE or another setting off by omission).
 */
function policyUpdate(policy: TenantPolicyChanges): { $set: Record<string, unknown>; $unset: Record<string, true> } {
  const update: { $set: Record<string, unknown>; $unset: Record<string, true> } = { $set: {}, $unset: {} };
  for (const [field, value] of Object.entries(policy.sms ?? {})) {
    if (value === null) update.$unset[`securityPolicy.sms.${field}`] = true;
    else if (value !== undefined) update.$set[`securityPolicy.sms.${field}`] = value;
  }
  const ciba = policy.ciba;
  if (ciba === null) {
    update.$unset['securityPolicy.ciba.enabled'] = true;
    update.$unset['securityPolicy.ciba.notifications'] = true;
  }
  if (ciba?.enabled !== undefined) update.$set['securityPolicy.ciba.enabled'] = ciba.enabled;
  for (const [channel, on] of Object.entries(ciba?.notifications ?? {})) {
    if (on !== undefined) update.$set[`securityPolicy.ciba.notifications.${channel}`] = on;
  }
  for (const [field, value] of Object.entries(policy.selfService ?? {})) {
    if (value === null) update.$unset[`securityPolicy.selfService.${field}`] = true;
    else if (value !== undefined) update.$set[`securityPolicy.selfService.${field}`] = value;
  }
  for (const field of Object.keys(policyFields) as Array<keyof TenantSecurityPolicy>) {
    if (field === 'sms' || field === 'ciba' || field === 'selfService') continue;
    if (policy[field] === null) update.$unset[`securityPolicy.${field}`] = true;
    else if (policy[field] !== undefined) update.$set[`securityPolicy.${field}`] = policy[field];
  }
  return update;
}

export class TenantRepository {
  readonly #tenants: Collection<Tenant>;

  constructor(store: Store) {
    this.#tenants = store.collection<Tenant>('tenants');
  }

  async find(id: string): Promise<Tenant | null> {
    if (!isValidTenantId(id)) return null;
    return this.#tenants.findOne({ _id: id });
  }

  /** Creates the tenant; a duplicate id is a `conflict`. */
  async create(input: { id: string; displayName: string } & TenantChanges, now = new Date()): Promise<Tenant> {
    if (!isValidTenantId(input.id)) {
      throw new AppError('invalid_request', 'a tenant id is 1-63 lower-case letters, digits or dashes, not starting or ending with a dash');
    }
    const { id, securityPolicy, ...rest } = input;
    // A new tenant has nothing to remove: a `null` in its policy is the same as leaving the field out.
    const present = (entries: object) => Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== null && value !== undefined));
    const named = present(securityPolicy ?? {}) as TenantSecurityPolicy;
    if (securityPolicy?.sms) named.sms = present(securityPolicy.sms);
    if (securityPolicy?.selfService) named.selfService = present(securityPolicy.selfService);
    // RFC 9700 2.1.1: PKCE for confidential clients too, unless the tenant is created saying otherwise.
    const tenant: Tenant = { ...rest, securityPolicy: { requirePkce: true, ...named }, _id: id, createdAt: now, updatedAt: now };
    try {
      await this.#tenants.insertOne(tenant);
    } catch (error) {
      const taken = hostTaken(error, input.customHost);
      if (taken) throw taken;
      if (error instanceof DuplicateKeyError) throw new AppError('conflict', `tenant ${input.id} already exists`);
      throw error;
    }
    return tenant;
  }

  async list(options: { after?: string; limit: number }): Promise<Tenant[]> {
    return this.#tenants.find(options.after ? { _id: { $gt: options.after } } : {}, { sort: { _id: 1 }, limit: options.limit });
  }

  /** Ids of the tenants with CIBA on, in id order, a page at a time (the expiry sweep, `oidc/ciba-sweep.ts`). */
  async withCibaEnabled(options: { after?: string; limit: number }): Promise<string[]> {
    const filter = { 'securityPolicy.ciba.enabled': true, ...(options.after ? { _id: { $gt: options.after } } : {}) };
    return (await this.#tenants.find(filter, { sort: { _id: 1 }, limit: options.limit })).map((tenant) => tenant._id);
  }

  /**
   * Applies `changes`; the fields named in `unset` are removed. A security policy replaces the stored
   * one, except that `requirePkce` is kept when the new policy does not name it, so changing the
   * password rules never turns a PKCE requirement off.
   */
  async update(id: string, changes: TenantChanges, now = new Date(), unset: Array<keyof TenantChanges> = []): Promise<Tenant | null> {
    const { securityPolicy, ...rest } = changes;
    const policy = securityPolicy ? policyUpdate(securityPolicy) : { $set: {}, $unset: {} };
    const unsetAll = { ...Object.fromEntries(unset.map((field) => [field, true as const])), ...policy.$unset };
    const update = { $set: { ...rest, ...policy.$set, updatedAt: now }, ...(Object.keys(unsetAll).length ? { $unset: unsetAll } : {}) };
    let matched: number;
    try {
      ({ matched } = await this.#tenants.updateOne({ _id: id }, update));
    } catch (error) {
      throw hostTaken(error, changes.customHost) ?? error;
    }
    return matched ? this.find(id) : null;
  }

  /**
   * Sets the tenant's CIBA webhook (the secret arrives sealed), or with `null` removes it and turns
   * its channel off in the same write, so a channel never stays on with nowhere to send.
   */
  async setCibaWebhook(id: string, webhook: { url: string; secret: string } | null, now = new Date()): Promise<boolean> {
    const update = webhook
      ? { $set: { 'securityPolicy.ciba.webhook': webhook, updatedAt: now } }
      : { $set: { updatedAt: now }, $unset: { 'securityPolicy.ciba.webhook': true as const, 'securityPolicy.ciba.notifications.webhook': true as const } };
    return (await this.#tenants.updateOne({ _id: id }, update)).matched > 0;
  }

  /** Sets (or with `null` removes) the tenant's SMS webhook; the secret arrives sealed. */
  async setSmsWebhook(id: string, webhook: { url: string; secret: string } | null, now = new Date()): Promise<boolean> {
    const update = webhook ? { $set: { 'securityPolicy.sms.webhook': webhook, updatedAt: now } } : { $set: { updatedAt: now }, $unset: { 'securityPolicy.sms.webhook': true as const } };
    return (await this.#tenants.updateOne({ _id: id }, update)).matched > 0;
  }

  /** Sets (or with `null` removes) one of the tenant's e-mail templates; the caller checked it (`templateProblems`). */
  async setEmailTemplate(id: string, name: EmailTemplateName, template: EmailTemplate | null, now = new Date()): Promise<boolean> {
    const path = `emailTemplates.${name}`;
    const update = template ? { $set: { [path]: { subject: template.subject, text: template.text, html: template.html }, updatedAt: now } } : { $set: { updatedAt: now }, $unset: { [path]: true as const } };
    return (await this.#tenants.updateOne({ _id: id }, update)).matched > 0;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.#tenants.deleteOne({ _id: id })) > 0;
  }

  /** Creates the tenant unless it exists; returns it either way. */
  async ensure(input: { id: string; displayName: string }): Promise<{ tenant: Tenant; created: boolean }> {
    const existing = await this.find(input.id);
    if (existing) return { tenant: existing, created: false };
    try {
      return { tenant: await this.create(input), created: true };
    } catch (error) {
      // Another instance created it between our read and our write.
      if (error instanceof AppError && error.code === 'conflict') {
        const tenant = await this.find(input.id);
        if (tenant) return { tenant, created: false };
      }
      throw error;
    }
  }
}
