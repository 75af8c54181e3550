import { randomBytes } from 'node:crypto';
import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';
import type { FactorSummary, MfaFactorRepository } from '../domain/mfa-factors.js';
import { parsePhone } from '../domain/phone.js';
import { countryAllowed, smsText } from '../domain/sms-settings.js';
import type { TenantRepository } from '../domain/tenants.js';
import type { TenantSmsSettings } from '../domain/sms-settings.js';
import { SMS_CODE_TTL_SECONDS, type CodeBinding, type CodePurpose, type SmsCodes } from './sms-codes.js';
import { chargeSmsSend, type SmsBudget } from './sms-send-limits.js';
import type { Throttle } from './throttle.js';

/** Phones per user: each one is a way in, and each can be texted. */
export const MAX_SMS_FACTORS = 5;

export type SendRefusal =
  | { reason: 'invalid_phone' | 'country_not_allowed' | 'too_many_phones' | 'already_enrolled' | 'not_found'; message: string }
  | { reason: 'cooldown' | 'rate_limited'; message: string; retryAfter: number; budget?: SmsBudget }
  | { reason: 'not_sent'; message: string };

export type Sent = { ok: true; phone: string; resendIn: number } | ({ ok: false } & SendRefusal);

/** Who asks for a text, for the per-address limit and the trace. */
export interface Requester {
  address: string;
  requestId?: string;
}

interface PendingPhone {
  phone: string;
  country: string;
  /** the name the user gave the phone (enrolment only) */
  name?: string;
}

const DEFAULT_NAME = 'Phone';
const MAX_NAME_LENGTH = 64;

const enrollmentIdPattern = /^[A-Za-z0-9_-]{22}$/;
const enrollmentKey = (tenant: string, userId: string, enrollmentId: string) => tenantKey(tenant, 'sms', 'enrol', userId, enrollmentId);

/**
 * Hands a text to the tenant's sender (`messaging/tenant-sender.ts`, wired in app-context.ts; authn
 * does not import messaging). Rejects when the text was not accepted.
 */
export type SendText = (text: { tenant: string; settings: TenantSmsSettings | undefined; to: string; text: string; purpose: CodePurpose; requestId?: string }) => Promise<unknown>;

export interface SmsDependencies {
  factors: MfaFactorRepository;
  ephemeral: EphemeralStore;
  tenants: TenantRepository;
  throttle: Throttle;
  codes: SmsCodes;
  sendText: SendText;
}

/**
 * Phones as second factors: enrolment (a number, then the code texted to it), and codes for
 * signing in, bound to the login's interaction. Every text goes through {@link send}: the tenant's
 * allowed countries, the resend cooldown, the sending limits (`sms-send-limits.ts`), then the
 * tenant's sender. No HTTP here; wrong codes are throttled by the callers (`mfa-throttle.ts`).
 */
export class SmsFactorService {
  constructor(private readonly deps: SmsDependencies) {}

  /** Starts adding a phone: checks the number and texts a code to it. */
  async startEnrollment(tenant: string, userId: string, input: { phone: string; name?: string | undefined }, requester: Requester): Promise<Sent & { enrollmentId?: string }> {
    const parsed = parsePhone(input.phone);
    if (!parsed.ok) return { ok: false, reason: 'invalid_phone', message: parsed.problem };
    const name = (input.name ?? '').trim() || DEFAULT_NAME;
    if ([...name].length > MAX_NAME_LENGTH || /\p{Cc}/u.test(name)) return { ok: false, reason: 'invalid_phone', message: `A phone's name is 1-${MAX_NAME_LENGTH} characters of text.` };
    const phones = await this.deps.factors.smsPhones(tenant, userId);
    if (phones.some((known) => known.phone === parsed.phone.e164)) return { ok: false, reason: 'already_enrolled', message: 'This number is already one of your phones.' };
    if (phones.length >= MAX_SMS_FACTORS) return { ok: false, reason: 'too_many_phones', message: `You can have at most ${MAX_SMS_FACTORS} phones; remove one first.` };
    const enrollmentId = randomBytes(16).toString('base64url');
    const pending: PendingPhone = { phone: parsed.phone.e164, country: parsed.phone.country, name };
    const sent = await this.#send({ tenant, accountId: userId, purpose: 'verification', transaction: enrollmentId }, pending, requester);
    if (sent.ok) await this.deps.ephemeral.set(enrollmentKey(tenant, userId, enrollmentId), JSON.stringify(pending), { ttlSeconds: SMS_CODE_TTL_SECONDS });
    return sent.ok ? { ...sent, enrollmentId } : sent;
  }

  /** Texts a new code for a pending enrolment (the resend button). */
  async resendEnrollment(tenant: string, userId: string, enrollmentId: string, requester: Requester): Promise<Sent> {
    const pending = await this.#pending(tenant, userId, enrollmentId);
    if (!pending) return { ok: false, reason: 'not_found', message: 'That enrolment has expired. Start again.' };
    return this.#send({ tenant, accountId: userId, purpose: 'verification', transaction: enrollmentId }, pending, requester);
  }

  /** The number of a pending enrolment, to show it again after a wrong code. */
  async pendingEnrollment(tenant: string, userId: string, enrollmentId: string): Promise<{ phone: string; resendIn: number } | undefined> {
    const pending = await this.#pending(tenant, userId, enrollmentId);
    if (!pending) return undefined;
    return { phone: pending.phone, resendIn: await this.deps.codes.cooldown({ tenant, accountId: userId, purpose: 'verification', transaction: enrollmentId }) };
  }

  /**
   * Confirms a pending enrolment with the code texted to it: the phone is a factor from here on.
   * `expired`: no such enrolment (or its code was burned or timed out); `wrong`: a wrong code.
   */
  async confirmEnrollment(tenant: string, userId: string, enrollmentId: string, code: string): Promise<{ ok: true; factor: FactorSummary } | { ok: false; reason: 'expired' | 'wrong' }> {
    const pending = await this.#pending(tenant, userId, enrollmentId);
    if (!pending) return { ok: false, reason: 'expired' };
    const checked = await this.deps.codes.check({ tenant, accountId: userId, purpose: 'verification', transaction: enrollmentId }, code);
    if (!checked.ok) return { ok: false, reason: checked.burned ? 'expired' : 'wrong' };
    // The code was taken: of parallel confirmations one gets here.
    if ((await this.deps.ephemeral.take(enrollmentKey(tenant, userId, enrollmentId))) === undefined) return { ok: false, reason: 'expired' };
    const factor = await this.deps.factors.createSms(tenant, userId, { name: pending.name ?? DEFAULT_NAME, phone: pending.phone, country: pending.country });
    return { ok: true, factor };
  }

  /** Texts a sign-in code for the login `interactionUid` to one of the user's phones. */
  async sendSignIn(tenant: string, userId: string, factorId: string, interactionUid: string, requester: Requester): Promise<Sent> {
    const phone = (await this.deps.factors.smsPhones(tenant, userId)).find((candidate) => candidate.id === factorId);
    if (!phone) return { ok: false, reason: 'not_found', message: 'That phone is not one of yours (any more).' };
    return this.#send({ tenant, accountId: userId, purpose: 'sign-in', transaction: interactionUid }, phone, requester);
  }

  /** Where the login's live code went (its number), and how long until it may be sent again. */
  async signInState(tenant: string, userId: string, interactionUid: string): Promise<{ phone?: string; resendIn: number }> {
    const binding: CodeBinding = { tenant, accountId: userId, purpose: 'sign-in', transaction: interactionUid };
    const phone = await this.deps.codes.pendingPhone(binding);
    return { ...(phone ? { phone } : {}), resendIn: await this.deps.codes.cooldown(binding) };
  }

  /** Checks a sign-in code of this login; the phone it went to must still be one of the user's. */
  async verifySignIn(tenant: string, userId: string, interactionUid: string, code: string): Promise<{ ok: true; factorId: string } | { ok: false }> {
    const checked = await this.deps.codes.check({ tenant, accountId: userId, purpose: 'sign-in', transaction: interactionUid }, code);
    if (!checked.ok) return { ok: false };
    const factor = (await this.deps.factors.smsPhones(tenant, userId)).find((candidate) => candidate.phone === checked.phone);
    if (!factor) return { ok: false };
    await this.deps.factors.markUsed(tenant, userId, factor.id);
    return { ok: true, factorId: factor.id };
  }

  async #pending(tenant: string, userId: string, enrollmentId: string): Promise<PendingPhone | undefined> {
    if (!enrollmentIdPattern.test(enrollmentId)) return undefined;
    const raw = await this.deps.ephemeral.get(enrollmentKey(tenant, userId, enrollmentId));
    return raw === undefined ? undefined : (JSON.parse(raw) as PendingPhone);
  }

  /**
   * One text: the tenant's countries (read now, so a country removed stops texts at once), the
   * transaction's cooldown, the sending budgets, then the sender. A text handed to the sender
   * counts against the budgets even when the gateway failed (it may have sent it).
   */
  async #send(binding: CodeBinding, to: PendingPhone, requester: Requester): Promise<Sent> {
    const tenant = await this.deps.tenants.find(binding.tenant);
    const settings = tenant?.securityPolicy?.sms;
    if (!tenant || !countryAllowed(settings, to.country)) {
      return { ok: false, reason: 'country_not_allowed', message: 'Text messages cannot be sent to numbers of that country here.' };
    }
    const issued = await this.deps.codes.issue(binding, to.phone);
    if (!issued.ok) return { ok: false, reason: 'cooldown', retryAfter: issued.retryAfter, message: 'A code was sent a moment ago.' };
    const charge = await chargeSmsSend(this.deps.throttle, { tenant: binding.tenant, accountId: binding.accountId, phone: to.phone, address: requester.address });
    if (!charge.ok) {
      // Nothing was sent: the transaction may ask again as soon as the budgets allow.
      await issued.release();
      return { ok: false, reason: 'rate_limited', retryAfter: charge.retryAfter, budget: charge.budget, message: 'Too many text messages were sent.' };
    }
    await issued.commit();
    try {
      await this.deps.sendText({
        tenant: binding.tenant,
        settings,
        to: to.phone,
        text: smsText(settings, issued.code, tenant.displayName),
        purpose: binding.purpose,
        ...(requester.requestId ? { requestId: requester.requestId } : {}),
      });
    } catch {
      await charge.settle(true);
      return { ok: false, reason: 'not_sent', message: 'The text message could not be sent. Try again later.' };
    }
    await charge.settle(true);
    return { ok: true, phone: to.phone, resendIn: await this.deps.codes.cooldown(binding) };
  }
}
