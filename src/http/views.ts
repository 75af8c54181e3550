import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import ejs from 'ejs';
import type { PageBranding } from './branding.js';

/** `views/` at the project root, found from this file whether it runs from `src/` or `dist/src/`. */
export const viewsDir = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../views/' : '../../views/', import.meta.url));

/** The tenant a page belongs to; a `TenantContext` is one. */
export interface PageTenant {
  id: string;
  name: string;
  /** shown by the layout on every page; absent outside a tenant */
  branding?: PageBranding;
}

export interface PageLocals {
  title: string;
  tenant: PageTenant;
  requestId?: string | undefined;
  [key: string]: unknown;
}

/**
 * Renders `views/{page}.ejs` inside `views/layout.ejs`. Templates escape every value (`<%= %>`);
 * only the layout's `body` and includes are inserted raw. The layout shows the tenant's branding, so
 * every page of a tenant carries it without a page asking; templates see only the tenant's id, name
 * and branding, whatever object the caller passes.
 */
export async function renderPage(page: string, locals: PageLocals): Promise<string> {
  const { id, name, branding = {} } = locals.tenant;
  const data = { assetsBase: '/assets', ...locals, tenant: { id, name, branding } };
  const options = { cache: true, async: true, root: viewsDir };
  const body = await ejs.renderFile(join(viewsDir, `${page}.ejs`), data, options);
  return ejs.renderFile(join(viewsDir, 'layout.ejs'), { ...data, body }, options);
}
