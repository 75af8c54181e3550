import type { RouteSpec } from '../route.js';
import { auditRoutes } from './audit.js';
import { meRoutes } from './me.js';
import { tenantRoutes } from './tenants.js';

/** Every admin API route; a resource adds its module here. */
export function adminRoutes(): RouteSpec[] {
  return [...meRoutes, ...tenantRoutes, ...auditRoutes];
}
