import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { csrfTokenFor, formBody, parseFields, verifyForm } from '../../http/forms.js';
import { setSignedCookie } from '../../http/signed-cookie.js';
import { endSessionsOf, type EndedSessions } from '../../oidc/end-sessions.js';
import type { TenantContext } from '../../tenancy/tenant-context.js';
import { SESSION_COOKIE, type AccountConsole, type SignedIn } from '../console.js';
import { freshEnough } from '../fresh.js';
import { securityPage } from '../security-page.js';
import { logoutCounts } from './sessions.js';

const confirmFields = z.object({ confirm: z.string().max(256) });

/** Whether the tenant lets its users delete their own account (`security_policy.self_service`); off unless set. */
export function accountDeletionAllowed(tenant: TenantContext): boolean {
  return tenant.settings.securityPolicy?.selfService?.accountDeletion === true;
}

/**
 * "Delete your account", where the tenant allows it: after a fresh sign-in (within five minutes,
 * with the second factor when the user has one: `fresh.ts`, as for changing factors) and the
 * username typed to confirm. The same services as an admin's deletion (`DELETE
 * /tenants/{t}/users/{id}`): the user repository removes the user with their password, second
 * factors, passkeys and recovery codes, then the end-session service ends every session, revokes
 * every grant with its tokens, forgets remembered consent and sends back-channel logout
 * (`user_deleted`). The user is removed first, so nothing can sign in as them while the rest
 * ends. User ids are random UUIDs, never reused: an account registered later under the same
 * username gets a new `sub` (and so new pairwise SAML NameIDs). The audit event keeps the id and
 * counts, no copy of the profile (docs/accounts.md).
 */
export function deleteAccountRoutes(router: Router, site: AccountConsole): void {
  const { app } = site;
  const body = formBody(app.config.http.bodyLimit);
  const { audit } = securityPage(site);
  const path = (ctx: Context) => `${site.pathOf(site.tenantOf(ctx))}/delete`;

  // 403, not 404: the page exists, the tenant forbids it (a 404 here would look like the provider's).
  const notOffered = async (ctx: Context) => {
    const tenant = site.tenantOf(ctx);
    ctx.status = 403;
    ctx.body = await site.page(ctx, 'error', 'Not available', { heading: 'Not available', message: `${tenant.name} does not let accounts be deleted here. Ask your administrator.`, status: 403, backUrl: site.pathOf(tenant) });
  };

  /** The account went while this request ran (another tab deleted it): this console is signed out. */
  const notFound = async (ctx: Context) => {
    const tenant = site.tenantOf(ctx);
    setSignedCookie(ctx, tenant, SESSION_COOKIE, null, { path: site.pathOf(tenant), secure: site.secure });
    ctx.status = 404;
    ctx.body = await site.page(ctx, 'error', 'Not found', { heading: 'Account not found', message: 'This account has been deleted already.', status: 404, backUrl: site.pathOf(tenant) });
  };

  const isFresh = async (ctx: Context, current: SignedIn) => {
    const tenant = site.tenantOf(ctx);
    const factors = await app.mfa.factors.list(tenant.id, current.user._id);
    return freshEnough(current.session, factors, tenant.settings.securityPolicy, Math.floor(app.clock() / 1000));
  };

  const show = async (ctx: Context, current: SignedIn, fresh: boolean, error?: string, status = 200) => {
    const tenant = site.tenantOf(ctx);
    ctx.status = status;
    ctx.body = await site.page(ctx, 'account-delete', 'Delete your account', {
      username: current.user.username,
      fresh,
      signInAgainUrl: `${site.pathOf(tenant)}/login?fresh=delete`,
      actionUrl: path(ctx),
      csrfToken: csrfTokenFor(tenant, `account:${current.id}`),
      backUrl: site.pathOf(tenant),
      error,
    });
  };

  router.get('/delete', async (ctx) => {
    const tenant = site.tenantOf(ctx);
    if (!accountDeletionAllowed(tenant)) return notOffered(ctx);
    const current = await site.signedIn(ctx);
    if (!current) {
      ctx.redirect(`${site.pathOf(tenant)}/login?next=delete`);
      return;
    }
    await show(ctx, current, await isFresh(ctx, current));
  });

  router.post('/delete', body, async (ctx) => {
    const tenant = site.tenantOf(ctx);
    if (!accountDeletionAllowed(tenant)) return notOffered(ctx);
    const current = await site.signedIn(ctx);
    if (!current) {
      ctx.status = 303;
      ctx.redirect(`${site.pathOf(tenant)}/login?next=delete`);
      return;
    }
    const fields = verifyForm(ctx, tenant, `account:${current.id}`, new URL(app.config.publicUrl).origin);
    if (!(await isFresh(ctx, current))) {
      ctx.status = 303;
      ctx.redirect(`${site.pathOf(tenant)}/login?fresh=delete`);
      return;
    }
    const { confirm } = parseFields(confirmFields, fields);
    if (confirm.trim() !== current.user.username) return show(ctx, current, true, `Type your username, ${current.user.username}, exactly to confirm.`, 400);

    const userId = current.user._id;
    // Whoever removes the user does the rest; a parallel request finds it gone.
    if (!(await app.users.delete(tenant.id, userId))) return notFound(ctx);
    let ended: EndedSessions;
    try {
      ended = await endSessionsOf(tenant, userId, { reason: 'user_deleted' });
    } catch (error) {
      await audit(ctx, current, 'user.deleted', { self_service: true, sessions_ended: null, error: 'the user’s sessions could not all be ended' });
      throw error;
    }
    await audit(ctx, current, 'user.deleted', {
      self_service: true,
      sessions_ended: ended.sessions,
      grants_revoked: ended.grants,
      consents_forgotten: ended.consents,
      backchannel_logouts: logoutCounts(ctx, tenant.id, ended.backchannelLogouts),
    });
    await site.sessions.delete(tenant.id, current.id);
    setSignedCookie(ctx, tenant, SESSION_COOKIE, null, { path: site.pathOf(tenant), secure: site.secure });
    ctx.body = await site.page(ctx, 'account-deleted', 'Account deleted', {});
  });
}
