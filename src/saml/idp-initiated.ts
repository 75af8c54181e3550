import { randomBytes } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AppContext } from '../app-context.js';
import type { SamlApp } from '../domain/saml-apps.js';
import { AppError } from '../errors.js';
import { csrfTokenFor, formBody, verifyForm } from '../http/forms.js';
import { readSignedCookie, setSignedCookie } from '../http/signed-cookie.js';
import { renderPage } from '../http/views.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { samlRoot } from './idp-metadata.js';
import { chooseFormat } from './name-id.js';
import type { OidcLeg } from './oidc-leg.js';
import { chooseAcs } from './sso.js';

/** The cookie a start form's CSRF token is bound to: a random id for this browser, signed. */
const START_COOKIE = 'gh_saml_start';
const START_COOKIE_MS = 12 * 60 * 60 * 1000;

const appIdPattern = /^sp_[A-Za-z0-9_-]{16}$/;

const appsPath = (tenant: TenantContext) => `${new URL(tenant.issuer).pathname}${samlRoot}/apps`;

/** Where IdP-initiated sign-on to an app starts: `/t/{tenant}/saml/apps/{appId}/start`. */
export function startPath(tenant: TenantContext, appId: string): string {
  return `${appsPath(tenant)}/${appId}/start`;
}

/**
 * The CSRF token of the form that starts sign-on to `appId` (the confirm page's, and each "My apps"
 * button's), bound to this browser's start cookie, which is set here when it is missing. A form
 * copied from another browser, or posted by another site (which cannot read the cookie, and whose
 * cross-site POST does not carry a `SameSite=Lax` one), is refused.
 */
export function startFormToken(ctx: Context, tenant: TenantContext, appId: string, secure: boolean): string {
  let browser = readSignedCookie(ctx, tenant, START_COOKIE);
  if (!browser) {
    browser = randomBytes(32).toString('base64url');
    setSignedCookie(ctx, tenant, START_COOKIE, browser, { path: appsPath(tenant), maxAgeMs: START_COOKIE_MS, secure });
  }
  return csrfTokenFor(tenant, `saml-start:${browser}:${appId}`);
}

/** Whether sign-on to the app may start at Gatehouse (the app's `idp_initiated.allowed`). */
export function opensFromIdp(app: SamlApp): boolean {
  return app.idpInitiated.allowed;
}

/**
 * IdP-initiated single sign-on (docs/saml.md, "IdP-initiated sign-on"): a GET of the start URL
 * only shows a confirm page, so a link or an image on another site can never make an assertion
 * fly; the confirm page's POST (CSRF token bound to a signed cookie, `Origin` checked) starts the
 * same OIDC leg as SP-initiated sign-on, with no AuthnRequest: the Response carries no
 * `InResponseTo`, goes to the app's default ACS URL with the app's default RelayState. Who may use
 * the app is checked in the callback, as for SP-initiated sign-on.
 */
export function idpInitiatedRoutes(router: Router, app: AppContext, leg: OidcLeg): void {
  const path = `/t/:tenant${samlRoot}/apps/:appId/start`;

  /** The app to start, or an error page (unknown here, or not opened from the IdP). */
  const startable = async (ctx: Context): Promise<SamlApp | undefined> => {
    const tenant = ctx.state.tenant as TenantContext;
    const id = String(ctx.params['appId'] ?? '');
    const found = appIdPattern.test(id) ? await app.samlApps.get(tenant.id, id) : null;
    if (!found) {
      await leg.errorPage(ctx, 404, 'App not found', 'There is no such app in this organisation. Check the link, or open the app from your list of apps.');
      return undefined;
    }
    if (!opensFromIdp(found)) {
      await leg.errorPage(ctx, 403, `${found.name} cannot be opened from here`, `${found.name} does not allow sign-in to start at this organisation’s sign-in service. Open ${found.name} itself and sign in there.`);
      return undefined;
    }
    return found;
  };

  router.get(path, async (ctx) => {
    const target = await startable(ctx);
    if (!target) return;
    const tenant = ctx.state.tenant as TenantContext;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await renderPage('saml-start', {
      title: `Sign in to ${target.name}`,
      tenant,
      requestId: ctx.state.requestId as string,
      appName: target.name,
      action: startPath(tenant, target.id),
      csrfToken: startFormToken(ctx, tenant, target.id, leg.secure),
    });
  });

  router.post(path, formBody(app.config.http.bodyLimit), async (ctx) => {
    const tenant = ctx.state.tenant as TenantContext;
    const browser = readSignedCookie(ctx, tenant, START_COOKIE);
    if (!browser) throw new AppError('invalid_csrf_token', 'This form has expired or was not sent by this site. Go back, reload the page and try again.');
    verifyForm(ctx, tenant, `saml-start:${browser}:${String(ctx.params['appId'] ?? '')}`, new URL(app.config.publicUrl).origin);
    const target = await startable(ctx);
    if (!target) return;
    const acsUrl = chooseAcs(target, {});
    if (!acsUrl) return leg.errorPage(ctx, 400, 'This sign-in was refused', `${target.name} has no address registered to receive sign-ins.`);
    const relayState = target.idpInitiated.defaultRelayState;
    await leg.begin(ctx, tenant, {
      appId: target.id,
      acsUrl,
      ...(relayState !== undefined ? { relayState } : {}),
      nameIdFormat: chooseFormat(target, undefined),
      isPassive: false,
      forceAuthn: false,
    });
  });
}
