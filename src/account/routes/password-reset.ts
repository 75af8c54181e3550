import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { parseAssertion } from '../../authn/webauthn-json.js';
import { AppError } from '../../errors.js';
import { csrfTokenFor, formBody, parseFields, verifyForm } from '../../http/forms.js';
import { checkProofOfWork, proofOfWorkWidgetIfOn } from '../../http/proof-of-work.js';
import type { AccountConsole } from '../console.js';
import { maskPhone } from '../../domain/phone.js';
import { canProveByCode, completeReset, needsPasskey, requestReset, resetFactors, resetPasskeyOptions, resetTarget, sendResetText, type ResetOutcome } from '../password-reset.js';

const requestFields = z.object({ identifier: z.string().max(320, 'at most 320 characters'), altcha: z.string().max(4096).optional() });
const resetFields = z.object({
  token: z.string().max(128),
  new_password: z.string().max(4096),
  confirm_password: z.string().max(4096),
  code: z.string().max(64).optional(),
  response: z.string().max(16_384).optional(),
});

const REQUEST_BINDING = 'password-reset-request';
const linkBinding = (token: string) => `password-reset:${token}`;

/**
 * "Forgot password?" from the login page, under the tenant's account site (no sign-in needed):
 * ask for a username or address, answer the same whether an account has it or not (the mail goes
 * in the background), mail a single-use link; the link's GET shows the form (nothing is used), its
 * POST sets the password only after the user's second factor, when they have one (password-reset.ts).
 */
export function passwordResetRoutes(router: Router, site: AccountConsole): void {
  const { app } = site;
  const body = formBody(app.config.http.bodyLimit);
  const origin = new URL(app.config.publicUrl).origin;
  const base = (ctx: Context) => `${site.pathOf(site.tenantOf(ctx))}/password-reset`;

  const showRequest = async (ctx: Context, locals: { sent?: boolean; error?: string; identifier?: string } = {}, status = 200) => {
    ctx.status = status;
    const tenant = site.tenantOf(ctx);
    // The tenant's proof-of-work for this form, when it turned it on (docs/accounts.md, Proof of work).
    const proofOfWork = proofOfWorkWidgetIfOn(tenant, 'password_reset');
    ctx.body = await site.page(ctx, 'password-reset-request', 'Reset your password', { action: base(ctx), csrfToken: csrfTokenFor(tenant, REQUEST_BINDING), signInUrl: site.pathOf(tenant), ...(proofOfWork ? { proofOfWork } : {}), ...locals });
  };

  const linkInvalid = async (ctx: Context) => {
    ctx.status = 400;
    ctx.body = await site.page(ctx, 'account-notice', 'Link not valid', {
      heading: 'Link not valid',
      message: 'This reset link has expired, was already used, or is not complete. Ask for a new one.',
      backUrl: base(ctx),
      backLabel: 'Ask for a new link',
    });
  };

  const showForm = async (ctx: Context, token: string, options: { error?: string; codeError?: string; notice?: string; status?: number } = {}) => {
    const tenant = site.tenantOf(ctx);
    const user = await resetTarget(app, tenant, token);
    if (!user) return linkInvalid(ctx);
    const factors = resetFactors(tenant, await app.mfa.factors.list(tenant.id, user._id));
    ctx.status = options.status ?? 200;
    ctx.body = await site.page(ctx, 'password-reset-form', 'Choose a new password', {
      action: `${base(ctx)}/confirm`,
      token,
      username: user.username,
      csrfToken: csrfTokenFor(tenant, linkBinding(token)),
      needsCode: factors.length > 0 && canProveByCode(factors),
      textUrl: factors.some((factor) => factor.type === 'sms') ? `${base(ctx)}/text` : undefined,
      notice: options.notice,
      unsupported: factors.length > 0 && !canProveByCode(factors) && !needsPasskey(factors),
      passkeyOptionsUrl: needsPasskey(factors) ? `${base(ctx)}/passkey/options?token=${encodeURIComponent(token)}` : undefined,
      error: options.error,
      codeError: options.codeError,
    });
  };

  router.get('/password-reset', async (ctx) => showRequest(ctx));

  router.post('/password-reset', body, async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const fields = verifyForm(ctx, tenant, REQUEST_BINDING, origin);
    const { identifier } = parseFields(requestFields, fields);
    const typed = identifier.trim();
    if (!typed || /[\r\n]/.test(typed)) return showRequest(ctx, { error: 'Enter your username or e-mail address.' }, 400);
    // Before anything is counted or sent: a missing, failed or used solution sends nothing.
    const pow = await checkProofOfWork(app.proofOfWork, tenant, 'password_reset', fields);
    if (!pow.ok) return showRequest(ctx, { error: pow.message, identifier: typed }, 400);
    const requested = await requestReset(app, tenant, { identifier: typed, client: ctx.ip, requestId: ctx.state.requestId as string });
    if (!requested.ok) {
      ctx.set('Retry-After', String(requested.retryAfter));
      app.metrics.rateLimited(`email_send_${requested.budget}`);
      return showRequest(ctx, { error: `Too many reset requests. Try again in ${requested.retryAfter} seconds.`, identifier: typed }, 429);
    }
    // The same page whether or not an account has this identifier.
    await showRequest(ctx, { sent: true });
  });

  router.get('/password-reset/confirm', async (ctx) => {
    const token = typeof ctx.query['token'] === 'string' ? ctx.query['token'] : '';
    await showForm(ctx, token);
  });

  /** What the page's script asks before the passkey ceremony (JSON; the form's CSRF token, bound to the link). */
  router.post('/password-reset/passkey/options', body, async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const token = typeof ctx.query['token'] === 'string' && ctx.query['token'].length <= 128 ? ctx.query['token'] : '';
    verifyForm(ctx, tenant, linkBinding(token), origin);
    const options = await resetPasskeyOptions(app, tenant, token);
    if (!options) throw new AppError('invalid_request', 'This reset link has expired or was already used. Ask for a new one.');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = options;
  });

  router.post('/password-reset/text', body, async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const raw = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
    const token = typeof raw['token'] === 'string' && raw['token'].length <= 128 ? raw['token'] : '';
    verifyForm(ctx, tenant, linkBinding(token), origin);
    const sent = await sendResetText(app, tenant, token, { address: ctx.ip, requestId: ctx.state.requestId as string });
    if (!sent) return showForm(ctx, token, { status: 400 });
    if (sent.ok) return showForm(ctx, token, { notice: `We texted a code to ${maskPhone(sent.phone)}. Enter it below.` });
    if ('retryAfter' in sent) ctx.set('Retry-After', String(sent.retryAfter));
    return showForm(ctx, token, { codeError: 'retryAfter' in sent ? `${sent.message} Try again in ${sent.retryAfter} seconds.` : sent.message, status: sent.reason === 'cooldown' || sent.reason === 'rate_limited' ? 429 : 503 });
  });

  router.post('/password-reset/confirm', body, async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const raw = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
    const token = typeof raw['token'] === 'string' ? raw['token'] : '';
    const form = parseFields(resetFields, verifyForm(ctx, tenant, linkBinding(token), origin));
    if (form.new_password !== form.confirm_password) return showForm(ctx, token, { error: 'The two passwords differ. Type the same new password twice.', status: 400 });
    const outcome: ResetOutcome = await completeReset(app, tenant, { token, password: form.new_password, code: form.code, assertion: form.response ? parseAssertion(form.response) : undefined }, ctx.state.requestId as string);
    if (outcome.ok) {
      ctx.body = await site.page(ctx, 'account-notice', 'Password changed', {
        heading: 'Password changed',
        message: 'Your new password is set, and every device signed in to your account was signed out. Sign in with the new password.',
        backUrl: site.pathOf(tenant),
        backLabel: 'Sign in',
      });
      return;
    }
    switch (outcome.reason) {
      case 'link_invalid':
        return linkInvalid(ctx);
      case 'password':
        return showForm(ctx, token, { error: outcome.message, status: 400 });
      case 'factor_required':
        return showForm(ctx, token, { codeError: 'Your account has a second factor: the new password takes effect only with it.', status: 401 });
      case 'factor_refused':
        return showForm(ctx, token, { codeError: 'That second factor could not be verified. Try again.', status: 401 });
      case 'factor_unsupported':
        return showForm(ctx, token, { status: 403 });
      case 'throttled':
        ctx.set('Retry-After', String(outcome.retryAfter));
        app.metrics.rateLimited('mfa_account');
        return showForm(ctx, token, { codeError: `Too many wrong codes. Try again in ${outcome.retryAfter} seconds.`, status: 429 });
    }
  });
}
