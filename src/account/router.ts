import Router from '@koa/router';
import type { Context } from 'koa';
import * as oidc from 'openid-client';
import type { AppContext } from '../app-context.js';
import { formBody, csrfTokenFor, verifyForm } from '../http/forms.js';
import { renderPage } from '../http/views.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { readSignedCookie, setSignedCookie } from '../http/signed-cookie.js';
import { displayName } from '../oidc/claims.js';
import { ACCOUNT_CLIENT_ID } from '../domain/clients.js';
import { accountClientConfig, type LocalOrigin } from './oidc-client.js';
import { providerSessionAlive } from './provider-session.js';
import { CONSOLE_SESSION_SECONDS, ConsoleSessions, type ConsoleSession } from './sessions.js';

const SESSION_COOKIE = 'gh_account';
const FLOW_COOKIE = 'gh_account_flow';

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
}

/** Where under a tenant the account console is (`tenant-routes.ts`). */
export const accountRoot = '/account';

/**
 * The account console: a small self-service page that signs its user in through its own tenant
 * with authorization code + PKCE (like Keycloak's account console), shows the profile, and signs
 * out with RP-initiated logout.
 */
export function accountRouter(app: AppContext, localOrigin: LocalOrigin): Router {
  const router = new Router({ prefix: `/t/:tenant${accountRoot}` });
  const sessions = new ConsoleSessions(app.ephemeral, app.clock);
  const configs = new WeakMap<TenantContext, Promise<oidc.Configuration>>();
  const secure = app.config.publicUrl.startsWith('https:');

  const tenantOf = (ctx: Context) => ctx.state.tenant as TenantContext;
  const pathOf = (tenant: TenantContext) => `${new URL(tenant.issuer).pathname}/account`;
  const configOf = (tenant: TenantContext) => {
    let config = configs.get(tenant);
    if (!config) {
      config = accountClientConfig(app, tenant, localOrigin);
      configs.set(tenant, config);
      config.catch(() => configs.delete(tenant));
    }
    return config;
  };
  const page = (ctx: Context, name: string, title: string, locals: Record<string, unknown>) => {
    ctx.set('Cache-Control', 'no-store');
    return renderPage(name, { title, tenant: tenantOf(ctx), requestId: ctx.state.requestId as string, ...locals });
  };

  /**
   * The signed-in user, or undefined (the cookie then goes): the console's session must be live,
   * its user still enabled, and the provider's session it signed in through not ended.
   */
  const signedIn = async (ctx: Context) => {
    const tenant = tenantOf(ctx);
    const id = readSignedCookie(ctx, tenant, SESSION_COOKIE);
    if (!id) return undefined;
    const session = await sessions.find(tenant.id, id);
    const user = session ? await app.users.findById(tenant.id, session.sub) : null;
    if (session && user && !user.disabled && session.sid && (await providerSessionAlive(tenant, session.sub, session.sid))) return { id, session, user };
    await sessions.delete(tenant.id, id);
    setSignedCookie(ctx, tenant, SESSION_COOKIE, null, { path: pathOf(tenant), secure });
    return undefined;
  };

  router.get('/', async (ctx) => {
    const tenant = tenantOf(ctx);
    const current = await signedIn(ctx);
    if (!current) {
      ctx.body = await page(ctx, 'account-signed-out', 'Your account', { signInUrl: `${pathOf(tenant)}/login` });
      return;
    }
    // The profile comes from the repository: the console holds no token to ask userinfo with.
    const { user } = current;
    ctx.body = await page(ctx, 'account', 'Your account', {
      user: {
        sub: user._id,
        name: displayName(user) ?? user.username,
        username: user.username,
        email: user.email,
        emailVerified: user.emailVerified === true,
        phone: user.phone,
        givenName: user.givenName,
        familyName: user.familyName,
      },
      logoutUrl: `${pathOf(tenant)}/logout`,
      csrfToken: csrfTokenFor(tenant, `account:${current.id}`),
    });
  });

  router.get('/login', async (ctx) => {
    const tenant = tenantOf(ctx);
    const config = await configOf(tenant);
    const flow: Flow = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
    setSignedCookie(ctx, tenant, FLOW_COOKIE, Buffer.from(JSON.stringify(flow)).toString('base64url'), { path: pathOf(tenant), maxAgeMs: 10 * 60 * 1000, secure });
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
    });
    ctx.redirect(url.href);
  });

  router.get('/callback', async (ctx) => {
    const tenant = tenantOf(ctx);
    const raw = readSignedCookie(ctx, tenant, FLOW_COOKIE);
    setSignedCookie(ctx, tenant, FLOW_COOKIE, null, { path: pathOf(tenant), secure });
    if (!raw) {
      ctx.redirect(pathOf(tenant));
      return;
    }
    const flow = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Flow;
    const config = await configOf(tenant);
    const current = new URL(`${tenant.issuer}/account/callback${ctx.querystring ? `?${ctx.querystring}` : ''}`);
    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    } catch (error) {
      if (error instanceof oidc.AuthorizationResponseError && error.error === 'access_denied') {
        // The user pressed Cancel: a choice, not a failure.
        ctx.body = await page(ctx, 'cancelled', 'Sign-in cancelled', { backUrl: pathOf(tenant), backLabel: 'Back to your account' });
        return;
      }
      ctx.state.log?.info({ err: error }, 'account console sign-in did not complete');
      ctx.status = 400;
      ctx.body = await page(ctx, 'error', 'Sign-in failed', {
        heading: 'Sign-in did not complete',
        message: error instanceof oidc.AuthorizationResponseError ? `The sign-in was cancelled or refused (${error.error}).` : 'The sign-in could not be completed. Please try again.',
        status: 400,
        backUrl: pathOf(tenant),
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
    const id = await sessions.create(tenant.id, session);
    setSignedCookie(ctx, tenant, SESSION_COOKIE, id, { path: pathOf(tenant), maxAgeMs: CONSOLE_SESSION_SECONDS * 1000, secure });
    ctx.redirect(pathOf(tenant));
  });

  router.post('/logout', formBody(app.config.http.bodyLimit), async (ctx) => {
    const tenant = tenantOf(ctx);
    const id = readSignedCookie(ctx, tenant, SESSION_COOKIE);
    const session = id ? await sessions.find(tenant.id, id) : undefined;
    if (!id || !session) {
      ctx.redirect(pathOf(tenant));
      return;
    }
    verifyForm(ctx, tenant, `account:${id}`, new URL(app.config.publicUrl).origin);
    await sessions.delete(tenant.id, id);
    setSignedCookie(ctx, tenant, SESSION_COOKIE, null, { path: pathOf(tenant), secure });
    // No ID token is kept for `id_token_hint`: the client id names the client instead (RP-Initiated
    // Logout 1.0 section 2), and the provider asks the user to confirm, as it would with a hint.
    const url = oidc.buildEndSessionUrl(await configOf(tenant), {
      client_id: ACCOUNT_CLIENT_ID,
      post_logout_redirect_uri: `${tenant.issuer}/account`,
    });
    ctx.status = 303;
    ctx.redirect(url.href);
  });

  return router;
}
