import { createHash } from 'node:crypto';
import type { AppContext } from '../app-context.js';
import { chargeEmailSend, type EmailBudget } from '../authn/email-send-limits.js';
import { chargeMfa } from '../authn/mfa-throttle.js';
import { PASSWORD_RESET_MINUTES, passwordStampOf } from '../authn/password-resets.js';
import type { Requester, Sent } from '../authn/sms-factors.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { mfaAuditEvents } from '../domain/audit.js';
import type { FactorSummary } from '../domain/mfa-factors.js';
import { mfaPolicyOf } from '../domain/tenants.js';
import type { User } from '../domain/users.js';
import { sendTemplateMail } from '../messaging/template-mail.js';
import { endSessionsOf } from '../oidc/end-sessions.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { greetingName, mailTenant, sendAccountMail } from './account-mail.js';
import { newPasswordProblem } from './new-password.js';

/** Where a reset link points: the reset page under the tenant's issuer, never the request's host. */
export function resetLink(tenant: TenantContext, token: string): string {
  return `${tenant.issuer}/account/password-reset/confirm?token=${encodeURIComponent(token)}`;
}

/** The factors a user must prove before a reset takes effect: those the tenant counts at sign-in. */
export function resetFactors(tenant: TenantContext, factors: readonly FactorSummary[]): FactorSummary[] {
  const policy = mfaPolicyOf(tenant.settings.securityPolicy);
  return policy.mfa === 'off' ? [] : factors.filter((factor) => policy.factors.includes(factor.type));
}

/** Whether the reset page can take a proof of those factors: an authenticator app's, a texted or a recovery code (not a passkey). */
export function canProveByCode(factors: readonly FactorSummary[]): boolean {
  return factors.some((factor) => factor.type === 'totp' || factor.type === 'recovery_codes' || factor.type === 'sms');
}

/** The SMS transaction of a reset link: texted codes are bound to it, as a login's are to its interaction. */
function smsTransaction(token: string): string {
  return `reset-${createHash('sha256').update(token).digest('base64url').slice(0, 32)}`;
}

/** Whether the user's only way to prove a second factor here is a passkey or security key. */
export function needsPasskey(factors: readonly FactorSummary[]): boolean {
  return !canProveByCode(factors) && factors.some((factor) => factor.type === 'webauthn');
}

/** The WebAuthn challenge of a reset link: bound to it, one pending per link. */
function passkeyBinding(token: string): string {
  return `password-reset:${smsTransaction(token)}`;
}

/** The assertion options for a reset of a passkey-only user (the page's script asks for them). */
export async function resetPasskeyOptions(app: AppContext, tenant: TenantContext, token: string): Promise<unknown> {
  const user = await resetTarget(app, tenant, token);
  if (!user || !needsPasskey(resetFactors(tenant, await app.mfa.factors.list(tenant.id, user._id)))) return undefined;
  return (await app.mfa.webauthn.startAuthentication(tenant.settings, { bindTo: passkeyBinding(token), userId: user._id })).options;
}

/**
 * Texts a code for the reset to the user's first phone, when the tenant counts phones: under the
 * SMS sending limits (per phone, account and client address) and cooldown of sign-in codes.
 */
export async function sendResetText(app: AppContext, tenant: TenantContext, token: string, requester: Requester): Promise<Sent | undefined> {
  const user = await resetTarget(app, tenant, token);
  if (!user || !resetFactors(tenant, await app.mfa.factors.list(tenant.id, user._id)).some((factor) => factor.type === 'sms')) return undefined;
  const [phone] = await app.mfa.factors.smsPhones(tenant.id, user._id);
  return phone ? app.mfa.sms.sendSignIn(tenant.id, user._id, phone.id, smsTransaction(token), requester) : undefined;
}

/**
 * A reset asked for `identifier` (a username or an address): charged openly per identifier and per
 * client (the answer is the same whether or not an account has it), then in the background, where
 * the answer cannot show it: the account looked up, charged per account (silently), a link issued
 * and mailed to the account's address. Answers whether the open budgets let it through.
 */
export async function requestReset(app: AppContext, tenant: TenantContext, request: { identifier: string; client: string; requestId: string }): Promise<{ ok: true } | { ok: false; retryAfter: number; budget: EmailBudget }> {
  const open = await chargeEmailSend(app.throttle, { tenant: tenant.id, purpose: 'reset', mailbox: request.identifier, client: request.client });
  if (!open.ok) return { ok: false, retryAfter: open.retryAfter, budget: open.budget };
  app.background.run(async () => {
    try {
      const user = await app.users.findByIdentifier(tenant.id, request.identifier);
      if (!user || user.disabled || !user.email) return;
      const account = await chargeEmailSend(app.throttle, { tenant: tenant.id, purpose: 'reset', accountId: user._id });
      if (!account.ok) return;
      try {
        await mailResetLink(app, tenant, user, user.email, request.requestId);
      } finally {
        await account.settle(true);
      }
    } finally {
      await open.settle(true);
    }
  });
  return { ok: true };
}

async function mailResetLink(app: AppContext, tenant: TenantContext, user: User, to: string, requestId: string): Promise<void> {
  const { token } = await app.accountEmail.resets.issue(tenant.id, { accountId: user._id, passwordStamp: passwordStampOf(user.passwordHash) });
  await app.audit.record({ tenant: tenant.id, type: 'user.password_reset_requested', actor: { type: 'user', id: user._id, tenant: tenant.id }, target: { type: 'user', id: user._id }, requestId });
  await sendTemplateMail(app.email, mailTenant(tenant), {
    to,
    template: 'password_reset',
    values: { user_name: greetingName(user), link: resetLink(tenant, token), expires_minutes: String(PASSWORD_RESET_MINUTES) },
    requestId,
  }).catch(() => undefined);
}

/** The account a live reset link names, if the link is live and the password has not changed since. */
export async function resetTarget(app: AppContext, tenant: TenantContext, token: string): Promise<User | undefined> {
  const grant = await app.accountEmail.resets.peek(tenant.id, token);
  const user = grant && (await app.users.findById(tenant.id, grant.accountId));
  if (!grant || !user || user.disabled || passwordStampOf(user.passwordHash) !== grant.passwordStamp) return undefined;
  return user;
}

export type ResetOutcome =
  | { ok: true }
  | { ok: false; reason: 'link_invalid' }
  | { ok: false; reason: 'password'; message: string }
  | { ok: false; reason: 'factor_required' | 'factor_refused' | 'factor_unsupported' }
  | { ok: false; reason: 'throttled'; retryAfter: number };

/**
 * Sets the new password from a reset link. The reset never bypasses MFA: a user with a factor the
 * tenant counts must prove it (an authenticator app's, a texted or a recovery code; a passkey when that is all they have) in the same
 * request, charged to the account's MFA budget; without it nothing changes. Only then is the link
 * consumed (atomically: of parallel uses one wins), the password set, every session and refresh
 * token of the user ended (`password_reset`, consent kept), the change audited and the user told.
 */
export async function completeReset(app: AppContext, tenant: TenantContext, form: { token: string; password: string; code?: string | undefined; assertion?: AuthenticationResponseJSON | undefined }, requestId: string): Promise<ResetOutcome> {
  const user = await resetTarget(app, tenant, form.token);
  if (!user) return { ok: false, reason: 'link_invalid' };
  const problem = await newPasswordProblem(app, tenant.settings, user, form.password);
  if (problem) return { ok: false, reason: 'password', message: problem };
  const audit = (type: string, details?: Record<string, unknown>) =>
    app.audit.record({ tenant: tenant.id, type, actor: { type: 'user', id: user._id, tenant: tenant.id }, target: { type: 'user', id: user._id }, requestId, ...(details ? { details } : {}) });
  const factors = resetFactors(tenant, await app.mfa.factors.list(tenant.id, user._id));
  if (factors.length > 0) {
    const passkey = needsPasskey(factors);
    if (!passkey && !canProveByCode(factors)) return { ok: false, reason: 'factor_unsupported' };
    const code = form.code?.trim() ?? '';
    if (passkey ? !form.assertion : !code) return { ok: false, reason: 'factor_required' };
    const charge = await chargeMfa(app.throttle, { tenant: tenant.id, accountId: user._id });
    if (!charge.ok) return { ok: false, reason: 'throttled', retryAfter: charge.retryAfter };
    const counted = (type: string) => factors.some((factor) => factor.type === type);
    const sixDigits = /^\d{6}$/.test(code.replace(/\s+/g, ''));
    let proven: string | undefined;
    try {
      proven = passkey
        ? (await app.mfa.webauthn.finishAuthentication(tenant.settings, { bindTo: passkeyBinding(form.token), response: form.assertion!, userId: user._id, requireUserVerification: false })).ok
          ? 'webauthn'
          : undefined
        : ((counted('totp') && sixDigits && (await app.mfa.totp.verify(tenant.id, user._id, code)).ok ? 'otp' : undefined) ??
          (counted('sms') && sixDigits && (await app.mfa.sms.verifySignIn(tenant.id, user._id, smsTransaction(form.token), code)).ok ? 'sms' : undefined) ??
          (counted('recovery_codes') && (await app.mfa.recoveryCodes.use(tenant.id, user._id, code)) ? 'rec' : undefined));
    } catch (error) {
      await charge.settle('failed');
      throw error;
    }
    await charge.settle(proven ? 'succeeded' : 'failed');
    await audit(proven === undefined ? mfaAuditEvents.failed : proven === 'rec' ? mfaAuditEvents.recoveryCodeUsed : mfaAuditEvents.succeeded, { method: proven ?? 'code', via: 'password_reset' });
    if (!proven) return { ok: false, reason: 'factor_refused' };
  }
  const grant = await app.accountEmail.resets.consume(tenant.id, form.token);
  if (!grant || grant.accountId !== user._id) return { ok: false, reason: 'link_invalid' };
  await app.users.setPassword(tenant.id, user._id, await app.passwords.hash(form.password), false, new Date(app.clock()));
  const ended = await endSessionsOf(tenant, user._id, { reason: 'password_reset' });
  await audit('user.password_reset', { sessions: ended.sessions, grants: ended.grants, second_factor: factors.length > 0 });
  if (user.email) sendAccountMail(app, tenant, { to: user.email, template: 'password_changed', values: { user_name: greetingName(user) }, requestId });
  return { ok: true };
}
