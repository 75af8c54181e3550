import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Middleware } from 'koa';
import { viewsDir } from './views.js';

const assets: Record<string, string> = { 'gatehouse.css': 'text/css; charset=utf-8' };

/** Serves the few static files the pages use (`/assets/*`), read once and cached. */
export function serveAssets(): Middleware {
  const cache = new Map<string, Buffer>();
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/assets/') || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const name = ctx.path.slice('/assets/'.length);
    const type = Object.hasOwn(assets, name) ? assets[name] : undefined;
    if (!type) return next();
    let body = cache.get(name);
    if (!body) {
      body = await readFile(join(viewsDir, 'assets', name));
      cache.set(name, body);
    }
    ctx.state.route = '/assets/:name';
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = body;
  };
}
