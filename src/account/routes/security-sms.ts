import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { chargeMfa } from '../../authn/mfa-throttle.js';
import type { Sent } from '../../authn/sms-factors.js';
import { mfaAuditEvents } from '../../domain/audit.js';
import type { FactorSummary } from '../../domain/mfa-factors.js';
import { mfaPolicyOf } from '../../domain/tenants.js';
import { csrfTokenFor, formBody, parseFields } from '../../http/forms.js';
import { checkProofOfWork, proofOfWorkWidgetIfOn } from '../../http/proof-of-work.js';
import type { AccountConsole, SignedIn } from '../console.js';

const startFields = z.object({ phone: z.string().max(40, 'at most 40 characters'), name: z.string().trim().max(64, 'at most 64 characters').optional() });
const pendingFields = z.object({ enrollment_id: z.string().max(64) });
const confirmFields = pendingFields.extend({ code: z.string().max(32, 'at most 32 characters') });

/** What security.ts lends these routes: its checks for a change, its audit and its page. */
export interface SecurityPage {
  forChange(ctx: Context): Promise<{ current: SignedIn; fields: Record<string, unknown> } | undefined>;
  audit(ctx: Context, current: SignedIn, type: string, details: Record<string, unknown>): Promise<unknown>;
  showSecurity(ctx: Context, current: SignedIn, messages?: { notice?: string; error?: string }, status?: number): Promise<void>;
  base(ctx: Context): string;
}

/** Whether the tenant counts phones at all: otherwise none is added (a factor nobody may use). */
export function smsAllowed(site: AccountConsole, ctx: Context): boolean {
  const policy = mfaPolicyOf(site.tenantOf(ctx).settings.securityPolicy);
  return policy.mfa !== 'off' && policy.factors.includes('sms');
}

/**
 * Adding a phone in the console's Security section: the number, then the code texted to it (the
 * factor exists only once that code came back), with a resend button after the cooldown. The
 * owner sees their number whole here; everyone else sees it masked. Same rules as the rest of the
 * section: a fresh sign-in for every change, wrong codes charged to the account's MFA budget.
 */
export function smsSecurityRoutes(router: Router, site: AccountConsole, page: SecurityPage): void {
  const { app } = site;
  const body = formBody(app.config.http.bodyLimit);

  const showEnrollment = async (ctx: Context, current: SignedIn, enrollment: { enrollmentId: string; phone: string; resendIn: number }, fieldError?: string, status = 200) => {
    ctx.status = status;
    ctx.body = await site.page(ctx, 'account-sms', 'Add a phone', {
      ...enrollment,
      fieldError,
      confirmUrl: `${page.base(ctx)}/sms/confirm`,
      resendUrl: `${page.base(ctx)}/sms/resend`,
      csrfToken: csrfTokenFor(site.tenantOf(ctx), `account:${current.id}`),
      backUrl: page.base(ctx),
      proofOfWork: proofOfWorkWidgetIfOn(site.tenantOf(ctx), 'sms', 'onsubmit'),
    });
  };

  /** A text refused: the page says why, with the status and Retry-After a script can read. */
  const refused = (ctx: Context, sent: Extract<Sent, { ok: false }>): { message: string; status: number } => {
    if (sent.reason === 'cooldown' || sent.reason === 'rate_limited') {
      ctx.set('Retry-After', String(sent.retryAfter));
      if (sent.reason === 'rate_limited' && sent.budget) app.metrics.rateLimited(`sms_send_${sent.budget}`);
      return { message: `${sent.message} Try again in ${sent.retryAfter} seconds.`, status: 429 };
    }
    return { message: sent.message, status: sent.reason === 'not_sent' ? 503 : 400 };
  };

  const requester = (ctx: Context) => ({ address: ctx.ip, requestId: ctx.state.requestId as string });

  router.post('/security/sms', body, async (ctx) => {
    const change = await page.forChange(ctx);
    if (!change) return;
    const { current } = change;
    if (!smsAllowed(site, ctx)) return page.showSecurity(ctx, current, { error: 'Text message codes are not used here.' }, 400);
    const { phone, name } = parseFields(startFields, change.fields);
    // Where the tenant asks, a solved proof of work before anything is counted or texted.
    const pow = await checkProofOfWork(app.proofOfWork, site.tenantOf(ctx), 'sms', change.fields);
    if (!pow.ok) return page.showSecurity(ctx, current, { error: pow.message }, 400);
    const tenant = site.tenantOf(ctx).id;
    const sent = await app.mfa.sms.startEnrollment(tenant, current.user._id, { phone, name }, requester(ctx));
    if (!sent.ok || !sent.enrollmentId) {
      const why = sent.ok ? { message: 'Start again.', status: 400 } : refused(ctx, sent);
      return page.showSecurity(ctx, current, { error: why.message }, why.status);
    }
    await showEnrollment(ctx, current, { enrollmentId: sent.enrollmentId, phone: sent.phone, resendIn: sent.resendIn });
  });

  router.post('/security/sms/resend', body, async (ctx) => {
    const change = await page.forChange(ctx);
    if (!change) return;
    const { current } = change;
    const tenant = site.tenantOf(ctx).id;
    const { enrollment_id: enrollmentId } = parseFields(pendingFields, change.fields);
    const pow = await checkProofOfWork(app.proofOfWork, site.tenantOf(ctx), 'sms', change.fields);
    if (!pow.ok) {
      const pending = await app.mfa.sms.pendingEnrollment(tenant, current.user._id, enrollmentId);
      if (!pending) return page.showSecurity(ctx, current, { error: 'That enrolment has expired. Start again.' }, 400);
      return showEnrollment(ctx, current, { enrollmentId, ...pending }, pow.message, 400);
    }
    const sent = await app.mfa.sms.resendEnrollment(tenant, current.user._id, enrollmentId, requester(ctx));
    const pending = await app.mfa.sms.pendingEnrollment(tenant, current.user._id, enrollmentId);
    if (!pending) return page.showSecurity(ctx, current, { error: 'That enrolment has expired. Start again.' }, 400);
    if (!sent.ok) {
      const why = refused(ctx, sent);
      return showEnrollment(ctx, current, { enrollmentId, ...pending }, why.message, why.status);
    }
    await showEnrollment(ctx, current, { enrollmentId, ...pending });
  });

  router.post('/security/sms/confirm', body, async (ctx) => {
    const change = await page.forChange(ctx);
    if (!change) return;
    const { current } = change;
    const tenant = site.tenantOf(ctx).id;
    const { enrollment_id: enrollmentId, code } = parseFields(confirmFields, change.fields);
    const expired = () => page.showSecurity(ctx, current, { error: 'That enrolment has expired or was already confirmed. Start again.' }, 400);
    const pending = await app.mfa.sms.pendingEnrollment(tenant, current.user._id, enrollmentId);
    if (!pending) return expired();
    const charge = await chargeMfa(app.throttle, { tenant, accountId: current.user._id });
    if (!charge.ok) {
      app.metrics.rateLimited(`mfa_${charge.budget}`);
      ctx.set('Retry-After', String(charge.retryAfter));
      return showEnrollment(ctx, current, { enrollmentId, ...pending }, `Too many wrong codes. Try again in ${charge.retryAfter} seconds.`, 429);
    }
    let confirmed: Awaited<ReturnType<typeof app.mfa.sms.confirmEnrollment>>;
    try {
      confirmed = await app.mfa.sms.confirmEnrollment(tenant, current.user._id, enrollmentId, code);
    } catch (error) {
      await charge.settle('released');
      throw error;
    }
    if (!confirmed.ok) {
      await charge.settle('failed');
      if (confirmed.reason === 'expired') return expired();
      return showEnrollment(ctx, current, { enrollmentId, ...pending }, 'That code is not valid. Enter the code we texted you.', 400);
    }
    await charge.settle('succeeded');
    const factor: FactorSummary = confirmed.factor;
    await page.audit(ctx, current, mfaAuditEvents.factorEnrolled, { factorId: factor.id, type: factor.type });
    await page.showSecurity(ctx, current, { notice: `${factor.phone ?? 'Your phone'} is set up. You can get sign-in codes by text message.` });
  });
}

