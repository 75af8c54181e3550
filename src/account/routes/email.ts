import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { csrfTokenFor, formBody, parseFields, verifyForm } from '../../http/forms.js';
import { emailAddressProblem } from '../../messaging/email.js';
import type { AccountConsole, SignedIn } from '../console.js';
import { applyVerification, sendVerification, type Applied, type SentVerification } from '../email-address.js';
import { securityPage } from '../security-page.js';

const changeFields = z.object({ new_email: z.string().max(320, 'at most 320 characters') });
const codeFields = z.object({ code: z.string().max(32, 'at most 32 characters') });
const confirmFields = z.object({ token: z.string().max(128) });

const outcomes: Record<Applied, { title: string; message: string; status: number }> = {
  verified: { title: 'E-mail address confirmed', message: 'Thank you: your e-mail address is confirmed.', status: 200 },
  changed: { title: 'E-mail address changed', message: 'Your new e-mail address is confirmed and now replaces the old one. We told the old address.', status: 200 },
  stale: { title: 'Nothing to confirm', message: 'This confirmation no longer matches your account. Start again from your account page.', status: 400 },
  taken: { title: 'Address in use', message: 'That address now belongs to another account, so it was not added to yours.', status: 409 },
};

/**
 * E-mail in the account console: "verify my e-mail" (a link and a code sent to the current
 * address) and "change my e-mail" (the new address is verified before it replaces the old, which
 * is told; a change needs a fresh sign-in, as factor changes do). The link's page works without a
 * console session (the mail may be read on another device): its GET only shows a confirm button,
 * so a mail scanner that opens links does not use them; the POST (CSRF bound to the link) does.
 */
export function emailRoutes(router: Router, site: AccountConsole): void {
  const { app } = site;
  const body = formBody(app.config.http.bodyLimit);
  const { signedIn, forChange } = securityPage(site);
  const base = (ctx: Context) => `${site.pathOf(site.tenantOf(ctx))}/email`;
  const origin = new URL(app.config.publicUrl).origin;

  const notice = async (ctx: Context, outcome: { title: string; message: string; status: number }) => {
    ctx.status = outcome.status;
    ctx.body = await site.page(ctx, 'account-notice', outcome.title, { heading: outcome.title, message: outcome.message, backUrl: site.pathOf(site.tenantOf(ctx)) });
  };

  const showCodePage = async (ctx: Context, current: SignedIn, options: { error?: string; status?: number } = {}) => {
    const pending = await app.accountEmail.verifications.pendingOf(site.tenantOf(ctx).id, current.user._id);
    if (!pending) return notice(ctx, { title: 'Nothing to confirm', message: 'There is no confirmation waiting, or it expired. Start again from your account page.', status: options.status ?? 400 });
    ctx.status = options.status ?? 200;
    ctx.body = await site.page(ctx, 'account-email', 'Confirm your e-mail address', {
      address: pending.address,
      change: pending.purpose === 'change',
      codeUrl: `${base(ctx)}/code`,
      csrfToken: csrfTokenFor(site.tenantOf(ctx), `account:${current.id}`),
      backUrl: site.pathOf(site.tenantOf(ctx)),
      fieldError: options.error,
    });
  };

  const afterSend = async (ctx: Context, current: SignedIn, sent: SentVerification) => {
    if (sent.ok) return showCodePage(ctx, current);
    if (sent.reason === 'rate_limited') {
      ctx.set('Retry-After', String(sent.retryAfter));
      app.metrics.rateLimited(`email_send_${sent.budget}`);
      return notice(ctx, { title: 'Too many messages', message: `We sent too many messages for this account or address. Try again in ${sent.retryAfter} seconds.`, status: 429 });
    }
    return notice(ctx, { title: 'Not sent', message: 'We could not send the message just now. Try again later.', status: 503 });
  };

  const requestOf = (ctx: Context) => ({ client: ctx.ip, requestId: ctx.state.requestId as string });

  router.post('/email/verify', body, async (ctx) => {
    const current = await signedIn(ctx);
    if (!current) return;
    verifyForm(ctx, site.tenantOf(ctx), `account:${current.id}`, origin);
    const address = current.user.email;
    if (!address) return notice(ctx, { title: 'No e-mail address', message: 'Your account has no e-mail address to confirm.', status: 400 });
    if (current.user.emailVerified) return notice(ctx, outcomes.verified);
    await afterSend(ctx, current, await sendVerification(app, site.tenantOf(ctx), current.user, { address, purpose: 'verify', ...requestOf(ctx) }));
  });

  router.post('/email/change', body, async (ctx) => {
    const change = await forChange(ctx);
    if (!change) return;
    const { current } = change;
    const address = parseFields(changeFields, change.fields).new_email.trim().toLowerCase();
    const problem = emailAddressProblem(address);
    if (problem) return notice(ctx, { title: 'Not an e-mail address', message: `The new address ${problem}.`, status: 400 });
    if (address === current.user.email) return notice(ctx, { title: 'Same address', message: 'That is already your e-mail address.', status: 400 });
    await afterSend(ctx, current, await sendVerification(app, site.tenantOf(ctx), current.user, { address, purpose: 'change', ...requestOf(ctx) }));
  });

  router.get('/email/code', async (ctx) => {
    const current = await signedIn(ctx);
    if (current) await showCodePage(ctx, current);
  });

  router.post('/email/code', body, async (ctx) => {
    const current = await signedIn(ctx);
    if (!current) return;
    const tenant = site.tenantOf(ctx);
    const { code } = parseFields(codeFields, verifyForm(ctx, tenant, `account:${current.id}`, origin));
    const checked = await app.accountEmail.verifications.checkCode(tenant.id, current.user._id, code);
    if (!checked.ok) {
      if (checked.burned) return notice(ctx, { title: 'Too many wrong codes', message: 'That code no longer works. Ask for a new one from your account page.', status: 429 });
      return showCodePage(ctx, current, { error: 'That code is not valid. Check the e-mail and try again.', status: 400 });
    }
    await notice(ctx, outcomes[await applyVerification(app, tenant, checked.verification, ctx.state.requestId as string)]);
  });

  /** The link's page: shows what would be confirmed and a button. Using it is the POST's job. */
  router.get('/email/confirm', async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const token = typeof ctx.query['token'] === 'string' ? ctx.query['token'] : '';
    const verification = token.length <= 128 ? await app.accountEmail.verifications.peekLink(tenant.id, token) : undefined;
    if (!verification) return notice(ctx, { title: 'Link not valid', message: 'This link has expired, was already used, or is not complete. Ask for a new one from your account page.', status: 400 });
    ctx.body = await site.page(ctx, 'email-confirm', 'Confirm your e-mail address', {
      address: verification.address,
      action: `${base(ctx)}/confirm`,
      token,
      csrfToken: csrfTokenFor(tenant, `email-confirm:${token}`),
    });
  });

  router.post('/email/confirm', body, async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const raw = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
    const { token } = parseFields(confirmFields, raw);
    verifyForm(ctx, tenant, `email-confirm:${token}`, origin);
    const verification = await app.accountEmail.verifications.consumeLink(tenant.id, token);
    if (!verification) return notice(ctx, { title: 'Link not valid', message: 'This link has expired or was already used. Ask for a new one from your account page.', status: 400 });
    await notice(ctx, outcomes[await applyVerification(app, tenant, verification, ctx.state.requestId as string)]);
  });
}
