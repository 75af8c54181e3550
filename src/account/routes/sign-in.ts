import type Router from '@koa/router';
import * as oidc from 'openid-client';
import { ACCOUNT_CLIENT_ID } from '../../domain/clients.js';
import { formBody, verifyForm } from '../../http/forms.js';
import { readSignedCookie, setSignedCookie } from '../../http/signed-cookie.js';
import { SESSION_COOKIE, type AccountConsole } from '../console.js';
import { lowestKnown } from '../../authn/assurance.js';
import { requiredForChanges } from '../fresh.js';
import { CONSOLE_SESSION_SECONDS, type ConsoleSession } from '../sessions.js';

const FLOW_COOKIE = 'gh_account_flow';

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
  /** the console page the callback returns to ({@link returnPath}): the one that asked for the sign-in */
  next?: string;
}

/**
 * The console pages a sign-in may return to: the Security section, "My apps", "Recent activity", the sessions, the connected apps, account deletion, the CIBA requests and one of
 * them (`ciba/{id}`). Nothing else, so `?next=` is never an open redirect.
 */
const returnPath = /^(?:security|apps|connected-apps|activity|sessions|delete|ciba(?:\/[A-Za-z0-9_-]{43})?)$/;

/**
 * Signing in to the console through its own tenant (authorization code + PKCE, like Keycloak's
 * account site) and signing out with RP-initiated logout.
 */
export function signInRoutes(router: Router, site: AccountConsole): void {
  router.get('/login', async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const config = await site.configOf(tenant);
    const flow: Flow = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
    // `?fresh=security`: the security page needs a sign-in younger than five minutes with the
    // user's second factor when they have one (fresh.ts): `max_age=0` has the provider ask again,
    // `acr_values` has it ask for the second factor too. Anything else is an ordinary sign-in.
    // `?fresh=ciba&request={id}`: approving a CIBA request needs a recent sign-in that reaches the
    // request's acr (ciba-approvals.ts), asked for the same way. `?next=`: an ordinary sign-in that
    // comes back to the page (a link from a text message opened while signed out).
    const fresh: Record<string, string> = {};
    // `?fresh=delete`: deleting the account asks the same of a sign-in as changing a factor.
    if (ctx.query['fresh'] === 'security' || ctx.query['fresh'] === 'delete') {
      flow.next = ctx.query['fresh'];
      fresh['max_age'] = '0';
      const current = await site.signedIn(ctx);
      const required = current ? requiredForChanges(await site.app.mfa.factors.list(tenant.id, current.user._id), tenant.settings.securityPolicy) : undefined;
      if (required) fresh['acr_values'] = required;
    } else if (ctx.query['fresh'] === 'ciba' && typeof ctx.query['request'] === 'string' && returnPath.test(`ciba/${ctx.query['request']}`)) {
      flow.next = `ciba/${ctx.query['request']}`;
      fresh['max_age'] = '0';
      const current = await site.signedIn(ctx);
      const pending = current ? await site.cibaApprovals.find(tenant, current.user._id, ctx.query['request']) : undefined;
      const required = pending ? lowestKnown(pending.acr_values) : undefined;
      if (required) fresh['acr_values'] = required;
    } else if (typeof ctx.query['next'] === 'string' && returnPath.test(ctx.query['next'])) {
      flow.next = ctx.query['next'];
    }
    setSignedCookie(ctx, tenant, FLOW_COOKIE, Buffer.from(JSON.stringify(flow)).toString('base64url'), { path: site.pathOf(tenant), maxAgeMs: 10 * 60 * 1000, secure: site.secure });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${tenant.issuer}/account/callback`,
      // Only `openid`: the profile is read from the repository, the tokens are not kept.
      scope: 'openid',
      // The provider puts `sid` in an ID token only when asked (OIDC Core 5.5): the console keeps it
      // to end with the provider's session it signed in through.
      claims: JSON.stringify({ id_token: { sid: null } }),
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      ...fresh,
    });
    ctx.redirect(url.href);
  });

  router.get('/callback', async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const raw = readSignedCookie(ctx, tenant, FLOW_COOKIE);
    setSignedCookie(ctx, tenant, FLOW_COOKIE, null, { path: site.pathOf(tenant), secure: site.secure });
    if (!raw) {
      ctx.redirect(site.pathOf(tenant));
      return;
    }
    const flow = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Flow;
    const config = await site.configOf(tenant);
    const current = new URL(`${tenant.issuer}/account/callback${ctx.querystring ? `?${ctx.querystring}` : ''}`);
    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    } catch (error) {
      if (error instanceof oidc.AuthorizationResponseError && error.error === 'access_denied') {
        // The user pressed Cancel: a choice, not a failure.
        ctx.body = await site.page(ctx, 'cancelled', 'Sign-in cancelled', { backUrl: site.pathOf(tenant), backLabel: 'Back to your account' });
        return;
      }
      ctx.state.log?.info({ err: error }, 'account console sign-in did not complete');
      ctx.status = 400;
      ctx.body = await site.page(ctx, 'error', 'Sign-in failed', {
        heading: 'Sign-in did not complete',
        message: error instanceof oidc.AuthorizationResponseError ? `The sign-in was cancelled or refused (${error.error}).` : 'The sign-in could not be completed. Please try again.',
        status: 400,
        backUrl: site.pathOf(tenant),
      });
      return;
    }
    // Validated by openid-client (signature, issuer, audience, nonce); only how the user signed in
    // is kept, the tokens are dropped here.
    const claims = tokens.claims();
    if (!claims) throw new Error('token response without an ID token');
    const session: Omit<ConsoleSession, 'exp'> = { sub: String(claims.sub) };
    if (typeof claims.sid === 'string') session.sid = claims.sid;
    if (typeof claims.acr === 'string') session.acr = claims.acr;
    if (Array.isArray(claims.amr)) session.amr = claims.amr.map(String);
    if (typeof claims.auth_time === 'number') session.auth_time = claims.auth_time;
    // A sign-in again (a fresh one for the security page) replaces the session it renews.
    const previous = readSignedCookie(ctx, tenant, SESSION_COOKIE);
    if (previous) await site.sessions.delete(tenant.id, previous);
    const id = await site.sessions.create(tenant.id, session);
    setSignedCookie(ctx, tenant, SESSION_COOKIE, id, { path: site.pathOf(tenant), maxAgeMs: CONSOLE_SESSION_SECONDS * 1000, secure: site.secure });
    ctx.redirect(flow.next !== undefined && returnPath.test(flow.next) ? `${site.pathOf(tenant)}/${flow.next}` : site.pathOf(tenant));
  });

  router.post('/logout', formBody(site.app.config.http.bodyLimit), async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const id = readSignedCookie(ctx, tenant, SESSION_COOKIE);
    const session = id ? await site.sessions.find(tenant.id, id) : undefined;
    if (!id || !session) {
      ctx.redirect(site.pathOf(tenant));
      return;
    }
    verifyForm(ctx, tenant, `account:${id}`, new URL(site.app.config.publicUrl).origin);
    await site.sessions.delete(tenant.id, id);
    setSignedCookie(ctx, tenant, SESSION_COOKIE, null, { path: site.pathOf(tenant), secure: site.secure });
    // No ID token is kept for `id_token_hint`: the client id names the client instead (RP-Initiated
    // Logout 1.0 section 2), and the provider asks the user to confirm, as it would with a hint.
    const url = oidc.buildEndSessionUrl(await site.configOf(tenant), {
      client_id: ACCOUNT_CLIENT_ID,
      post_logout_redirect_uri: `${tenant.issuer}/account`,
    });
    ctx.status = 303;
    ctx.redirect(url.href);
  });

}
