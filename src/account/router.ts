import Router from '@koa/router';
import type { AppContext } from '../app-context.js';
import { accountConsole } from './console.js';
import type { LocalOrigin } from '../built-in-client.js';
import { activityRoutes } from './routes/activity.js';
import { appRoutes } from './routes/apps.js';
import { connectedAppRoutes } from './routes/connected-apps.js';
import { deleteAccountRoutes } from './routes/delete-account.js';
import { cibaRoutes } from './routes/ciba.js';
import { emailRoutes } from './routes/email.js';
import { passkeyRoutes } from './routes/passkeys.js';
import { passwordResetRoutes } from './routes/password-reset.js';
import { passwordRoutes } from './routes/password.js';
import { profileRoutes } from './routes/profile.js';
import { securityRoutes } from './routes/security.js';
import { sessionRoutes } from './routes/sessions.js';
import { signInRoutes } from './routes/sign-in.js';

/** Where under a tenant the account console is (`tenant-routes.ts`). */
export const accountRoot = '/account';

/**
 * The account site: a small self-service site that signs its user in through its own tenant
 * shows the profile, manages the user's second factors, changes their password, approves CIBA requests and opens SAML apps ("My apps") and shows the account's recent activity. Each area is a route module over the shared {@link accountConsole}.
 */
export function accountRouter(app: AppContext, localOrigin: LocalOrigin): Router {
  const router = new Router({ prefix: `/t/:tenant${accountRoot}` });
  const site = accountConsole(app, localOrigin);
  profileRoutes(router, site);
  signInRoutes(router, site);
  securityRoutes(router, site);
  emailRoutes(router, site);
  passwordResetRoutes(router, site);
  passwordRoutes(router, site);
  passkeyRoutes(router, site);
  cibaRoutes(router, site);
  appRoutes(router, site);
  activityRoutes(router, site);
  sessionRoutes(router, site);
  connectedAppRoutes(router, site);
  deleteAccountRoutes(router, site);
  return router;
}
