import type { RouteSpec } from '../route.js';
import { apiRoutes } from './apis.js';
import { auditRoutes } from './audit.js';
import { clientRoutes } from './clients.js';
import { keyRoutes } from './keys.js';
import { meRoutes } from './me.js';
import { roleRoutes } from './roles.js';
import { samlAppCertificateRoutes } from './saml-app-certificate.js';
import { samlAppRoutes } from './saml-apps.js';
import { samlCertificateRoutes } from './saml-certificates.js';
import { serviceAccountRoutes } from './service-accounts.js';
import { tenantCibaRoutes } from './tenant-ciba.js';
import { tenantEmailTemplateRoutes } from './tenant-email-templates.js';
import { tenantSmsRoutes } from './tenant-sms.js';
import { tenantRoutes } from './tenants.js';
import { userMfaRoutes } from './user-mfa.js';
import { userPasswordRoutes } from './user-passwords.js';
import { userAccessRoutes } from './user-access.js';
import { userSignInRoutes } from './user-sign-in.js';
import { userRoutes } from './users.js';

/** Every admin API route; a resource adds its module here. */
export function adminRoutes(): RouteSpec[] {
  return [...meRoutes, ...tenantRoutes, ...tenantSmsRoutes, ...tenantCibaRoutes, ...tenantEmailTemplateRoutes, ...keyRoutes, ...auditRoutes, ...clientRoutes, ...samlAppRoutes, ...samlAppCertificateRoutes, ...samlCertificateRoutes, ...apiRoutes, ...serviceAccountRoutes, ...roleRoutes, ...userRoutes, ...userPasswordRoutes, ...userSignInRoutes, ...userAccessRoutes, ...userMfaRoutes];
}
