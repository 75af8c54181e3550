import Router from '@koa/router';
import type { Context } from 'koa';
import * as oidc from 'openid-client';
import type { AppContext } from '../app-context.js';
import { formBody, csrfTokenFor, verifyForm } from '../http/forms.js';
import { renderPage } from '../http/views.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { accountClientConfig, type LocalOrigin } from './oidc-client.js';
import { AccountSessions } from './sessions.js';
import { readSignedCookie, setSignedCookie } from '../http/signed-cookie.js';

const SESSION_COOKIE = 'gh_account';
const FLOW_COOKIE = 'gh_account_flow';

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
}

/** `undefined` for userinfo's 401 (the token is no longer accepted); anything else is an error. */
function signedOutBy401(error: unknown): undefined {
  if (error instanceof oidc.WWWAuthenticateChallengeError && error.status === 401) return undefined;
  throw error;
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
  const sessions = new AccountSessions(app.store);
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

  router.get('/', async (ctx) => {
    const tenant = tenantOf(ctx);
    const sessionId = readSignedCookie(ctx, tenant, SESSION_COOKIE);
    const session = sessionId ? await sessions.find(tenant.id, sessionId) : null;
    // A refused access token means the user was disabled or deleted (their tokens were revoked):
    // the console's session is over too.
    const claims = session ? await oidc.fetchUserInfo(await configOf(tenant), session.accessToken, session.sub).catch(signedOutBy401) : undefined;
    if (session && !claims) {
      await sessions.delete(tenant.id, session.id);
      setSignedCookie(ctx, tenant, SESSION_COOKIE, null, { path: pathOf(tenant), secure });
    }
    if (!session || !claims) {
      ctx.body = await page(ctx, 'account-signed-out', 'Your account', { signInUrl: `${pathOf(tenant)}/login` });
      return;
    }
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    ctx.body = await page(ctx, 'account', 'Your account', {
      user: {
        sub: claims.sub,
        name: text(claims.name) ?? text(claims.preferred_username) ?? claims.sub,
        username: text(claims.preferred_username) ?? '',
        email: text(claims.email),
        emailVerified: claims.email_verified === true,
        phone: text(claims.phone_number),
        givenName: text(claims.given_name),
        familyName: text(claims.family_name),
      },
      logoutUrl: `${pathOf(tenant)}/logout`,
      csrfToken: csrfTokenFor(tenant, `account:${session.id}`),
    });
  });

  router.get('/login', async (ctx) => {
    const tenant = tenantOf(ctx);
    const config = await configOf(tenant);
    const flow: Flow = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
    setSignedCookie(ctx, tenant, FLOW_COOKIE, Buffer.from(JSON.stringify(flow)).toString('base64url'), { path: pathOf(tenant), maxAgeMs: 10 * 60 * 1000, secure });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${tenant.issuer}/account/callback`,
      scope: 'openid profile email phone',
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
    const claims = tokens.claims();
    if (!claims || !tokens.id_token) throw new Error('token response without an ID token');
    const id = await sessions.create({
      tenant: tenant.id,
      sub: String(claims.sub),
      idToken: tokens.id_token,
      accessToken: tokens.access_token,
      expiresAt: new Date(Date.now() + (tokens.expiresIn() ?? 300) * 1000),
    });
    setSignedCookie(ctx, tenant, SESSION_COOKIE, id, { path: pathOf(tenant), secure });
    ctx.redirect(pathOf(tenant));
  });

  router.post('/logout', formBody(app.config.http.bodyLimit), async (ctx) => {
    const tenant = tenantOf(ctx);
    const sessionId = readSignedCookie(ctx, tenant, SESSION_COOKIE);
    const session = sessionId ? await sessions.find(tenant.id, sessionId) : null;
    if (!session) {
      ctx.redirect(pathOf(tenant));
      return;
    }
    verifyForm(ctx, tenant, `account:${session.id}`, new URL(app.config.publicUrl).origin);
    await sessions.delete(tenant.id, session.id);
    setSignedCookie(ctx, tenant, SESSION_COOKIE, null, { path: pathOf(tenant), secure });
    const url = oidc.buildEndSessionUrl(await configOf(tenant), {
      id_token_hint: session.idToken,
      post_logout_redirect_uri: `${tenant.issuer}/account`,
    });
    ctx.status = 303;
    ctx.redirect(url.href);
  });

  return router;
}
