import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { acceptablePassword, identityOf } from '../../authn/password-acceptance.js';
import { chargeSignIn } from '../../authn/sign-in-throttle.js';
import { accountAuditEvents } from '../../domain/audit.js';
import { ACCOUNT_CLIENT_ID } from '../../domain/clients.js';
import { identifierKey } from '../../domain/identifiers.js';
import { minPasswordLength } from '../../domain/users.js';
import { csrfTokenFor, formBody, parseFields, verifyForm } from '../../http/forms.js';
import { knownDeviceOf } from '../../http/known-device.js';
import { waitText } from '../../http/wait-text.js';
import { endSessionsOf, sessionIdOfSid } from '../../oidc/end-sessions.js';
import { greetingName, sendAccountMail } from '../account-mail.js';
import type { AccountConsole, SignedIn } from '../console.js';

// Lengths are the acceptance function's to judge (a field error, not a bare 400); the form body
// limit bounds what arrives. A missing field is a 400.
const fields = z.object({ current_password: z.string(), new_password: z.string(), confirm_password: z.string() });

type FieldErrors = Partial<Record<'current_password' | 'new_password' | 'confirm_password', string>>;

/** What the user is told when the current password is wrong: nothing about why. */
export const WRONG_CURRENT_PASSWORD = 'That is not your current password.';

/**
 * "Change password" in the account console. The current password is the proof (a stolen console
 * cookie alone changes nothing), checked like a sign-in: counted first against the sign-in budgets
 * of `authn/sign-in-throttle.ts` (this browser's device budget when it has one, else the address
 * and the username's), so the form is no way around the login's throttle. The new password goes
 * through `acceptablePassword`. When it is changed, every other session of the account ends (their
 * relying parties are told by back-channel logout) and every grant but this browser session's is
 * revoked with its refresh tokens, offline ones too; consent is kept. Audited `user.password_changed`.
 */
export function passwordRoutes(router: Router, site: AccountConsole): void {
  const { app } = site;
  const body = formBody(app.config.http.bodyLimit);
  const path = (ctx: Context) => `${site.pathOf(site.tenantOf(ctx))}/password`;

  const show = async (ctx: Context, current: SignedIn, state: { errors?: FieldErrors; error?: string; notice?: string; status?: number } = {}) => {
    const tenant = site.tenantOf(ctx);
    ctx.status = state.status ?? 200;
    ctx.body = await site.page(ctx, 'account-password', 'Change password', {
      username: current.user.username,
      hasPassword: Boolean(current.user.passwordHash),
      action: path(ctx),
      csrfToken: csrfTokenFor(tenant, `account:${current.id}`),
      minLength: Math.max(8, minPasswordLength(tenant.settings)),
      fieldErrors: state.errors ?? {},
      error: state.error,
      notice: state.notice,
      backUrl: site.pathOf(tenant),
    });
  };

  router.get('/password', async (ctx) => {
    const current = await site.signedIn(ctx);
    if (!current) return ctx.redirect(site.pathOf(site.tenantOf(ctx)));
    await show(ctx, current);
  });

  router.post('/password', body, async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const current = await site.signedIn(ctx);
    if (!current) return ctx.redirect(site.pathOf(tenant));
    const form = parseFields(fields, verifyForm(ctx, tenant, `account:${current.id}`, new URL(app.config.publicUrl).origin));
    const { user } = current;
    if (!user.passwordHash) return show(ctx, current, { error: 'Your account has no password to change: you sign in with a passkey.', status: 409 });

    const deviceId = await knownDeviceOf(ctx, tenant, app.devices, user._id, app.clock());
    const charge = await chargeSignIn(app.throttle, {
      tenant: tenant.id,
      identifier: identifierKey(user.username) ?? '',
      address: ctx.ip,
      ...(deviceId ? { device: { accountId: user._id, deviceId } } : {}),
    });
    if (!charge.ok) {
      app.metrics.rateLimited(`sign_in_${charge.budget}`);
      ctx.set('Retry-After', String(charge.retryAfter));
      return show(ctx, current, { error: `Too many wrong passwords. Try again in ${waitText(charge.retryAfter)}.`, status: 429 });
    }
    let verified;
    try {
      verified = await app.passwords.verify(user.passwordHash, form.current_password);
    } catch (error) {
      await charge.settle('failed');
      throw error;
    }
    await charge.settle(verified.ok ? 'succeeded' : 'failed');
    if (!verified.ok) {
      ctx.state.log?.info({ event: 'account.password_change_refused', tenant: tenant.id, accountId: user._id }, 'wrong current password');
      // A wrong password for the account: its owner sees it under "Recent activity", as at the login.
      await app.audit.record({
        tenant: tenant.id,
        type: accountAuditEvents.signInFailed,
        actor: { type: 'user', id: user._id, tenant: tenant.id },
        target: { type: 'user', id: user._id },
        details: { reason: 'wrong_current_password', via: 'account_console', ip: ctx.ip, user_agent: ctx.get('user-agent').slice(0, 256) },
        requestId: ctx.state.requestId as string,
      });
      return show(ctx, current, { errors: { current_password: WRONG_CURRENT_PASSWORD }, status: 400 });
    }

    const verdict = await acceptablePassword(app.passwordChecks, tenant.settings.securityPolicy, form.new_password, identityOf(user));
    const errors: FieldErrors = {};
    if (!verdict.ok) errors.new_password = verdict.message;
    else if (form.new_password === form.current_password) errors.new_password = 'Choose a password different from your current one.';
    else if (form.confirm_password !== form.new_password) errors.confirm_password = 'The two passwords do not match.';
    if (Object.keys(errors).length > 0) return show(ctx, current, { errors, status: 400 });

    const replaced = await app.users.replacePassword(tenant.id, user._id, user.passwordHash, await app.passwords.hash(form.new_password));
    if (!replaced) return show(ctx, current, { error: 'Your password was changed meanwhile (in another window, or by an administrator). Reload the page and try again.', status: 409 });

    // This browser's provider session stays, with its grants; every other one ends.
    const keep = current.session.sid ? await sessionIdOfSid(tenant, user._id, ACCOUNT_CLIENT_ID, current.session.sid) : undefined;
    const ended = await endSessionsOf(tenant, user._id, { reason: 'password_changed', keep });
    const failed = ended.backchannelLogouts.filter((result) => !result.delivered);
    if (failed.length > 0) ctx.state.log?.warn({ event: 'backchannel.error', tenant: tenant.id, reason: ended.reason, failed }, 'back-channel logout delivery failed');
    await app.audit.record({
      tenant: tenant.id,
      type: 'user.password_changed',
      actor: { type: 'user', id: user._id, tenant: tenant.id },
      target: { type: 'user', id: user._id },
      details: { via: 'account_console', sessions_ended: ended.sessions, grants_revoked: ended.grants },
      requestId: ctx.state.requestId as string,
    });
    // Told by mail too: a change by someone who had the session and the password does not go unnoticed.
    if (user.email) sendAccountMail(app, tenant, { to: user.email, template: 'password_changed', values: { user_name: greetingName(user) }, requestId: ctx.state.requestId as string });
    const others = ended.sessions === 1 ? '1 other session was' : `${ended.sessions} other sessions were`;
    await show(ctx, current, { notice: `Your password is changed. ${others} signed out; this browser stays signed in.` });
  });
}
