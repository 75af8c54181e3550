import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { removeFactors } from '../../authn/mfa-policy.js';
import { chargeMfa } from '../../authn/mfa-throttle.js';
import { mfaAuditEvents } from '../../domain/audit.js';
import type { FactorSummary } from '../../domain/mfa-factors.js';
import { AppError } from '../../errors.js';
import { csrfTokenFor, formBody, parseFields } from '../../http/forms.js';
import type { AccountConsole, SignedIn } from '../console.js';
import { factorLabel, securityPage } from '../security-page.js';

const totpFields = z.object({ name: z.string().trim().max(64, 'at most 64 characters').optional() });
const confirmFields = z.object({ enrollment_id: z.string().max(64), code: z.string().max(32, 'at most 32 characters') });

/**
 * The console's Security section: the user's second factors, adding an authenticator app, new
 * recovery codes, removing a factor. Viewing needs a console session; every change needs a fresh
 * one (`fresh.ts`), else the browser is sent to sign in again and brought back here. The factor
 * logic is the same as the admin API's (`authn/`), including the rule that the last authenticator
 * cannot be removed while the tenant requires MFA. Every change is audited with the user as actor.
 */
export function securityRoutes(router: Router, site: AccountConsole): void {
  const { app } = site;
  const body = formBody(app.config.http.bodyLimit);
  const { base, signedIn, forChange, audit, showSecurity } = securityPage(site);

  const showEnrollment = async (ctx: Context, current: SignedIn, enrollment: { enrollmentId: string; secret: string; qrCode: string }, fieldError?: string) => {
    const tenant = site.tenantOf(ctx);
    ctx.status = fieldError ? 400 : 200;
    ctx.body = await site.page(ctx, 'account-totp', 'Add an authenticator app', {
      ...enrollment,
      fieldError,
      confirmUrl: `${base(ctx)}/totp/confirm`,
      csrfToken: csrfTokenFor(tenant, `account:${current.id}`),
      backUrl: base(ctx),
    });
  };

  router.get('/security', async (ctx) => {
    const current = await signedIn(ctx);
    if (!current) return;
    // After the passkey script's registration (`?added={factorId}`): the name is read back, never echoed.
    const added = typeof ctx.query['added'] === 'string' ? ctx.query['added'] : undefined;
    const factor = added ? (await app.mfa.factors.list(site.tenantOf(ctx).id, current.user._id)).find((candidate) => candidate.id === added) : undefined;
    await showSecurity(ctx, current, factor ? { notice: `Passkey ${factor.name} is set up.` } : {});
  });

  router.post('/security/totp', body, async (ctx) => {
    const change = await forChange(ctx);
    if (!change) return;
    const { name } = parseFields(totpFields, change.fields);
    const enrollment = await app.mfa.totp.startEnrollment(site.tenantOf(ctx).id, change.current.user._id, name || 'Authenticator app');
    await showEnrollment(ctx, change.current, enrollment);
  });

  router.post('/security/totp/confirm', body, async (ctx) => {
    const change = await forChange(ctx);
    if (!change) return;
    const { current } = change;
    const tenant = site.tenantOf(ctx).id;
    const { enrollment_id: enrollmentId, code } = parseFields(confirmFields, change.fields);
    const expired = () => showSecurity(ctx, current, { error: 'That enrolment has expired or was already confirmed. Start again.' }, 400);
    // The same key and QR code again, with what went wrong (read back only on this path).
    const again = async (fieldError: string) => {
      const pending = await app.mfa.totp.pendingEnrollment(tenant, current.user._id, enrollmentId);
      return pending ? showEnrollment(ctx, current, pending, fieldError) : expired();
    };
    const charge = await chargeMfa(app.throttle, { tenant, accountId: current.user._id });
    if (!charge.ok) {
      app.metrics.rateLimited(`mfa_${charge.budget}`);
      ctx.set('Retry-After', String(charge.retryAfter));
      return again(`Too many wrong codes. Try again in ${charge.retryAfter} seconds.`);
    }
    let factor: FactorSummary;
    try {
      factor = await app.mfa.totp.confirmEnrollment(tenant, current.user._id, enrollmentId, code);
    } catch (error) {
      const wrong = error instanceof AppError && error.code === 'invalid_totp_code';
      await charge.settle(wrong ? 'failed' : 'released');
      if (wrong) return again('That code is not valid. Enter the code your app shows now.');
      if (error instanceof AppError && error.code === 'enrollment_not_found') return expired();
      throw error;
    }
    await charge.settle('succeeded');
    await audit(ctx, current, mfaAuditEvents.factorEnrolled, { factorId: factor.id, type: factor.type });
    await showSecurity(ctx, current, { notice: `${factor.name} is set up. You will be asked for its code when you sign in.` });
  });

  router.post('/security/recovery-codes', body, async (ctx) => {
    const change = await forChange(ctx);
    if (!change) return;
    const { current } = change;
    const tenant = site.tenantOf(ctx);
    const codes = await app.mfa.recoveryCodes.generate(tenant.id, current.user._id);
    await audit(ctx, current, mfaAuditEvents.recoveryCodesGenerated, { remaining: codes.length });
    ctx.body = await site.page(ctx, 'account-recovery-codes', 'Your recovery codes', { codes, backUrl: base(ctx) });
  });

  router.post('/security/factors/:factorId/remove', body, async (ctx) => {
    const change = await forChange(ctx);
    if (!change) return;
    const { current, factors } = change;
    const tenant = site.tenantOf(ctx);
    const factor = factors.find((candidate) => candidate.id === ctx.params['factorId']);
    if (!factor) return showSecurity(ctx, current, { error: 'That factor does not exist (any more).' }, 404);
    let removed: FactorSummary[];
    try {
      removed = await removeFactors({ factors: app.mfa.factors, ephemeral: app.ephemeral }, tenant.settings.securityPolicy, tenant.id, current.user._id, factor.id);
    } catch (error) {
      if (error instanceof AppError && error.code === 'mfa_last_factor') {
        return showSecurity(ctx, current, { error: 'Your organisation requires a second factor: add another authenticator app or passkey before you remove this one.' }, 409);
      }
      if (error instanceof AppError && error.code === 'conflict') return showSecurity(ctx, current, { error: 'Another change to your factors is in progress. Try again.' }, 409);
      throw error;
    }
    if (removed.length > 0) await audit(ctx, current, mfaAuditEvents.factorRemoved, { factorId: factor.id, type: factor.type });
    await showSecurity(ctx, current, { notice: `${factorLabel(factor)} removed.` });
  });
}
