import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import ejs from 'ejs';

/** `views/` at the project root, found from this file whether it runs from `src/` or `dist/src/`. */
export const viewsDir = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../views/' : '../../views/', import.meta.url));

export interface PageLocals {
  title: string;
  tenant: { id: string; name: string };
  requestId?: string | undefined;
  [key: string]: unknown;
}

/**
 * Renders `views/{page}.ejs` inside `views/layout.ejs`. Templates escape every value (`<%= %>`);
 * only the layout's `body` and includes are inserted raw.
 */
export async function renderPage(page: string, locals: PageLocals): Promise<string> {
  const data = { assetsBase: '/assets', ...locals };
  const options = { cache: true, async: true, root: viewsDir };
  const body = await ejs.renderFile(join(viewsDir, `${page}.ejs`), data, options);
  return ejs.renderFile(join(viewsDir, 'layout.ejs'), { ...data, body }, options);
}
