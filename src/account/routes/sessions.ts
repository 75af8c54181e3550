import type Router from '@koa/router';
import type { Context } from 'koa';
import { ACCOUNT_CLIENT_ID } from '../../domain/clients.js';
import { csrfTokenFor, formBody, verifyForm } from '../../http/forms.js';
import { setSignedCookie } from '../../http/signed-cookie.js';
import { endOtherSessions, endSessionByHandle, sessionHandle, sessionsOf, type EndedOne } from '../../oidc/account-sessions.js';
import { endSessionsOf, sessionIdOfSid, type BackchannelLogoutResult } from '../../oidc/end-sessions.js';
import { devicesOf } from '../../oidc/session-devices.js';
import { clientNamer } from '../client-names.js';
import { SESSION_COOKIE, type AccountConsole, type SignedIn } from '../console.js';
import { securityPage } from '../security-page.js';

/** A session handle as `sessionHandle` makes them; anything else is no session of anyone's. */
const handlePattern = /^[A-Za-z0-9_-]{32}$/;

const iso = (seconds: number | undefined) => (seconds === undefined ? undefined : new Date(seconds * 1000).toISOString());

/** What an audit event keeps of back-channel logouts: counts; the failures go to the log with their clients. */
export function logoutCounts(ctx: Context, tenant: string, logouts: readonly BackchannelLogoutResult[]) {
  const failed = logouts.filter((result) => !result.delivered);
  if (failed.length > 0) ctx.state.log?.warn({ event: 'backchannel.error', tenant, failed }, 'back-channel logout delivery failed');
  return { delivered: logouts.length - failed.length, failed: failed.length };
}

/**
 * "Where you are signed in": the account's live browser sessions of the provider (not the
 * console's own, which each ride on one of them), with the browser and address recorded at sign-in
 * (`oidc/session-devices.ts`), when each began and was last used, and which one this browser is.
 * Each can be signed out, by its hashed handle (the session id is the session cookie's value and
 * never leaves the server), or all of them, or all but this one. Ending goes through the shared
 * service (`oidc/account-sessions.ts`, `oidc/end-sessions.ts`): back-channel logout to the
 * session's apps and its grants revoked. The console's own session rides on the provider's, so
 * ending that one here, or from another browser, signs this console out at its next request
 * (`console.ts`). Audited with the user as the actor.
 */
export function sessionRoutes(router: Router, site: AccountConsole): void {
  const { app } = site;
  const body = formBody(app.config.http.bodyLimit);
  const { audit } = securityPage(site);
  const base = (ctx: Context) => `${site.pathOf(site.tenantOf(ctx))}/sessions`;

  /** The provider session this console signed in through (its id), if it still lives. */
  const currentSessionId = (ctx: Context, current: SignedIn) => (current.session.sid ? sessionIdOfSid(site.tenantOf(ctx), current.user._id, ACCOUNT_CLIENT_ID, current.session.sid) : Promise.resolve(undefined));

  /** The signed-in user for a form POST (CSRF and Origin checked), or a redirect to sign in. */
  const forForm = async (ctx: Context): Promise<SignedIn | undefined> => {
    const tenant = site.tenantOf(ctx);
    const current = await site.signedIn(ctx);
    if (!current) {
      ctx.status = 303;
      ctx.redirect(`${site.pathOf(tenant)}/login?next=sessions`);
      return undefined;
    }
    verifyForm(ctx, tenant, `account:${current.id}`, new URL(app.config.publicUrl).origin);
    return current;
  };

  /** This browser's console is signed out with its provider session: the cookie goes, a page says so. */
  const signedOut = async (ctx: Context, current: SignedIn, notice: string) => {
    const tenant = site.tenantOf(ctx);
    await site.sessions.delete(tenant.id, current.id);
    setSignedCookie(ctx, tenant, SESSION_COOKIE, null, { path: site.pathOf(tenant), secure: site.secure });
    ctx.body = await site.page(ctx, 'account-signed-out', 'Signed out', { signInUrl: `${site.pathOf(tenant)}/login`, notice });
  };

  const show = async (ctx: Context, current: SignedIn, messages: { notice?: string; error?: string } = {}, status = 200) => {
    const tenant = site.tenantOf(ctx);
    const [sessions, currentId] = await Promise.all([sessionsOf(tenant, current.user._id), currentSessionId(ctx, current)]);
    const devices = await devicesOf(app.ephemeral, tenant.id, sessions.flatMap((session) => (session.uid ? [session.uid] : [])));
    const currentHandle = currentId ? sessionHandle(currentId) : undefined;
    const clientName = clientNamer(app, tenant.id);
    const rows = await Promise.all(
      sessions.map(async (session) => {
        const device = session.uid ? devices.get(session.uid) : undefined;
        return {
          handle: session.id,
          browser: device?.browser ?? 'Unknown browser',
          ip: device?.ip,
          createdAt: iso(session.createdAt),
          lastSeenAt: iso(session.lastSeenAt),
          current: session.id === currentHandle,
          apps: await Promise.all(session.clients.map(clientName)),
        };
      }),
    );
    // This browser first, then the most recently used.
    rows.sort((a, b) => Number(b.current) - Number(a.current) || (b.lastSeenAt ?? '').localeCompare(a.lastSeenAt ?? ''));
    ctx.status = status;
    ctx.body = await site.page(ctx, 'account-sessions', 'Where you are signed in', {
      sessions: rows,
      csrfToken: csrfTokenFor(tenant, `account:${current.id}`),
      actionUrl: base(ctx),
      backUrl: site.pathOf(tenant),
      ...messages,
    });
  };

  router.get('/sessions', async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const current = await site.signedIn(ctx);
    if (!current) {
      ctx.redirect(`${site.pathOf(tenant)}/login?next=sessions`);
      return;
    }
    await show(ctx, current);
  });

  router.post('/sessions/:handle/end', body, async (ctx) => {
    const current = await forForm(ctx);
    if (!current) return;
    const tenant = site.tenantOf(ctx);
    const handle = String(ctx.params['handle']);
    const currentId = await currentSessionId(ctx, current);
    const ended: EndedOne = handlePattern.test(handle) ? await endSessionByHandle(tenant, current.user._id, handle) : { ended: false, grants: 0, backchannelLogouts: [] };
    if (!ended.ended) return show(ctx, current, { error: 'That session has ended already, or is not one of yours.' }, 404);
    const here = currentId !== undefined && sessionHandle(currentId) === handle;
    await audit(ctx, current, 'user.session_ended', { session: handle, current: here, grants_revoked: ended.grants, backchannel_logouts: logoutCounts(ctx, tenant.id, ended.backchannelLogouts) });
    if (here) return signedOut(ctx, current, 'You signed out of this browser.');
    await show(ctx, current, { notice: 'That session is signed out.' });
  });

  router.post('/sessions/end-others', body, async (ctx) => {
    const current = await forForm(ctx);
    if (!current) return;
    const tenant = site.tenantOf(ctx);
    const currentId = await currentSessionId(ctx, current);
    // Without a live session of its own the console would be signed out already (`console.ts`).
    if (!currentId) return signedOut(ctx, current, 'This browser’s session had ended.');
    const ended = await endOtherSessions(tenant, current.user._id, currentId);
    await audit(ctx, current, 'user.signed_out_everywhere', { except_current: true, sessions_ended: ended.sessions, grants_revoked: ended.grants, backchannel_logouts: logoutCounts(ctx, tenant.id, ended.backchannelLogouts) });
    await show(ctx, current, { notice: ended.sessions === 1 ? 'Signed out of 1 other session.' : `Signed out of ${ended.sessions} other sessions.` });
  });

  router.post('/sessions/end-all', body, async (ctx) => {
    const current = await forForm(ctx);
    if (!current) return;
    const tenant = site.tenantOf(ctx);
    const ended = await endSessionsOf(tenant, current.user._id, { reason: 'signed_out_everywhere' });
    await audit(ctx, current, 'user.signed_out_everywhere', {
      except_current: false,
      sessions_ended: ended.sessions,
      grants_revoked: ended.grants,
      backchannel_logouts: logoutCounts(ctx, tenant.id, ended.backchannelLogouts),
    });
    await signedOut(ctx, current, 'You are signed out everywhere, this browser too. Apps that kept access for you were signed out as well.');
  });
}
