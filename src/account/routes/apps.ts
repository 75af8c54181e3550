import type Router from '@koa/router';
import { startFormToken, startPath } from '../../saml/idp-initiated.js';
import { mayUse } from '../../saml/sso.js';
import type { AccountConsole } from '../console.js';

/**
 * "My apps": the SAML apps the signed-in user may use that allow sign-on to start at Gatehouse,
 * each with a button that posts to the app's start URL (`saml/idp-initiated.ts`), which checks
 * everything again; this page only saves the user a link. Signed out, the browser signs in and
 * comes back here.
 */
export function appRoutes(router: Router, site: AccountConsole): void {
  router.get('/apps', async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const current = await site.signedIn(ctx);
    if (!current) {
      ctx.redirect(`${site.pathOf(tenant)}/login?next=apps`);
      return;
    }
    const apps = (await site.app.samlApps.listOpenable(tenant.id)).filter((app) => mayUse(app, current.user));
    ctx.body = await site.page(ctx, 'account-apps', 'My apps', {
      apps: apps.map((app) => ({ name: app.name, action: startPath(tenant, app.id), csrfToken: startFormToken(ctx, tenant, app.id, site.secure) })),
      backUrl: site.pathOf(tenant),
    });
  });
}
