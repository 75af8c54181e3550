import type Router from '@koa/router';
import { csrfTokenFor } from '../../http/forms.js';
import { displayName } from '../../oidc/claims.js';
import type { AccountConsole } from '../console.js';
import { accountDeletionAllowed } from './delete-account.js';

/** The console's front page: the profile when signed in, a sign-in link otherwise. */
export function profileRoutes(router: Router, site: AccountConsole): void {
  router.get('/', async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const current = await site.signedIn(ctx);
    if (!current) {
      ctx.body = await site.page(ctx, 'account-signed-out', 'Your account', { signInUrl: `${site.pathOf(tenant)}/login` });
      return;
    }
    // The profile comes from the repository: the console holds no token to ask userinfo with.
    const { user } = current;
    ctx.body = await site.page(ctx, 'account', 'Your account', {
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
      logoutUrl: `${site.pathOf(tenant)}/logout`,
      securityUrl: `${site.pathOf(tenant)}/security`,
      passwordUrl: `${site.pathOf(tenant)}/password`,
      appsUrl: `${site.pathOf(tenant)}/apps`,
      activityUrl: `${site.pathOf(tenant)}/activity`,
      emailUrl: `${site.pathOf(tenant)}/email`,
      sessionsUrl: `${site.pathOf(tenant)}/sessions`,
      connectedAppsUrl: `${site.pathOf(tenant)}/connected-apps`,
      // CIBA's built-in authentication device: only where the tenant turned CIBA on.
      ...(accountDeletionAllowed(tenant) ? { deleteUrl: `${site.pathOf(tenant)}/delete` } : {}),
      ...(tenant.settings.securityPolicy?.ciba?.enabled === true ? { cibaUrl: `${site.pathOf(tenant)}/ciba` } : {}),
      csrfToken: csrfTokenFor(tenant, `account:${current.id}`),
    });
  });
}
