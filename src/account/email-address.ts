import type { AppContext } from '../app-context.js';
import { chargeEmailSend, type EmailBudget } from '../authn/email-send-limits.js';
import { EMAIL_VERIFICATION_MINUTES, type Verification, type VerificationPurpose } from '../authn/email-verification.js';
import type { User } from '../domain/users.js';
import { AppError } from '../errors.js';
import { sendTemplateMail } from '../messaging/template-mail.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { greetingName, mailTenant, maskedAddress, sendAccountMail } from './account-mail.js';

/** Where a verification link points: the console's confirm page under the tenant's issuer, never the request's host. */
export function verificationLink(tenant: TenantContext, token: string): string {
  return `${tenant.issuer}/account/email/confirm?token=${encodeURIComponent(token)}`;
}

export type SentVerification = { ok: true } | { ok: false; reason: 'rate_limited'; retryAfter: number; budget: EmailBudget } | { ok: false; reason: 'not_sent' };

/**
 * Sends a verification of `address` for the user: of their current address (`verify`) or of a new
 * one (`change`, which replaces the current address only once verified). Charged per account, per
 * address and per client before anything is issued; the mail is sent while the user waits (they
 * are signed in, and told if it failed).
 */
export async function sendVerification(app: AppContext, tenant: TenantContext, user: User, request: { address: string; purpose: VerificationPurpose; client: string; requestId: string }): Promise<SentVerification> {
  const charge = await chargeEmailSend(app.throttle, { tenant: tenant.id, purpose: 'verify', mailbox: request.address, accountId: user._id, client: request.client });
  if (!charge.ok) return { ok: false, reason: 'rate_limited', retryAfter: charge.retryAfter, budget: charge.budget };
  const { token, code } = await app.accountEmail.verifications.start(tenant.id, { accountId: user._id, address: request.address, purpose: request.purpose });
  try {
    await sendTemplateMail(app.email, mailTenant(tenant), {
      to: request.address,
      template: 'verify_email',
      values: { user_name: greetingName(user), link: verificationLink(tenant, token), code, expires_minutes: String(EMAIL_VERIFICATION_MINUTES) },
      requestId: request.requestId,
    });
    return { ok: true };
  } catch {
    return { ok: false, reason: 'not_sent' };
  } finally {
    await charge.settle(true);
  }
}

export type Applied = 'verified' | 'changed' | 'stale' | 'taken';

/**
 * Applies a used link or code: `verify` marks the address verified if it is still the user's
 * (`emailVerified`, which the `email_verified` claim follows); `change` makes the new address the
 * user's, verified, and tells the OLD address by mail. A user disabled or removed meanwhile, or
 * whose address changed since, gets `stale`; a new address another account took meanwhile, `taken`.
 */
export async function applyVerification(app: AppContext, tenant: TenantContext, verification: Verification, requestId: string): Promise<Applied> {
  const user = await app.users.findById(tenant.id, verification.accountId);
  if (!user || user.disabled) return 'stale';
  const audit = (type: string, details: Record<string, unknown>) =>
    app.audit.record({ tenant: tenant.id, type, actor: { type: 'user', id: user._id, tenant: tenant.id }, target: { type: 'user', id: user._id }, details, requestId });
  if (verification.purpose === 'verify') {
    if (user.email !== verification.address) return 'stale';
    await app.users.update(tenant.id, user._id, { emailVerified: true }, [], new Date(app.clock()));
    await audit('user.email_verified', { via: 'email_link_or_code' });
    return 'verified';
  }
  const old = user.email;
  try {
    await app.users.update(tenant.id, user._id, { email: verification.address, emailVerified: true }, [], new Date(app.clock()));
  } catch (error) {
    if (error instanceof AppError && error.code === 'conflict') return 'taken';
    throw error;
  }
  await audit('user.email_changed', { from: old === undefined ? null : maskedAddress(old), to: maskedAddress(verification.address) });
  await audit('user.email_verified', { via: 'email_change' });
  if (old !== undefined && old !== verification.address) {
    sendAccountMail(app, tenant, { to: old, template: 'email_changed', values: { user_name: greetingName(user), new_email_masked: maskedAddress(verification.address) }, requestId });
  }
  return 'changed';
}
