import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Middleware } from 'koa';
import { viewsDir } from './views.js';

/** The browser bundle of @simplewebauthn/browser, found through its package (its exports name no bundle). */
function webauthnBundle(): string {
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return join(dirname(dirname(entry)), 'dist', 'bundle', 'index.umd.min.js');
}

/**
 * A file of the ALTCHA widget's `dist/`, found through the package's `external` entry (its exports
 * name no package.json). The `external` build: the
 * default bundle injects a <style> element and starts workers from blob: URLs, which our CSP refuses.
 */
function altchaFile(...path: string[]): () => string {
  return () => join(dirname(dirname(createRequire(import.meta.url).resolve('altcha/external'))), ...path);
}

const css = 'text/css; charset=utf-8';
const js = 'text/javascript; charset=utf-8';

/**
 * What `/assets/*` serves: our stylesheet and page scripts, and the WebAuthn browser library, served
 * by Gatehouse itself so pages load it under `script-src 'self'` (no CDN, no inline script).
 */
const assets: Record<string, { type: string; path: () => string }> = {
  'gatehouse.css': { type: css, path: () => join(viewsDir, 'assets', 'gatehouse.css') },
  'simplewebauthn-browser.js': { type: js, path: webauthnBundle },
  'account-passkeys.js': { type: js, path: () => join(viewsDir, 'assets', 'account-passkeys.js') },
  'webauthn-login.js': { type: js, path: () => join(viewsDir, 'assets', 'webauthn-login.js') },
  'saml-post.js': { type: js, path: () => join(viewsDir, 'assets', 'saml-post.js') },
  'saml-logout.js': { type: js, path: () => join(viewsDir, 'assets', 'saml-logout.js') },
  'account-ciba.js': { type: js, path: () => join(viewsDir, 'assets', 'account-ciba.js') },
  // The proof-of-work widget (an ES module), its stylesheet, its PBKDF2 worker, and our script that joins them.
  'altcha.js': { type: js, path: altchaFile('external', 'altcha.min.js') },
  'altcha.css': { type: css, path: altchaFile('external', 'altcha.css') },
  'altcha-pbkdf2-worker.js': { type: js, path: altchaFile('workers', 'pbkdf2.js') },
  'proof-of-work.js': { type: js, path: () => join(viewsDir, 'assets', 'proof-of-work.js') },
};

/** Serves the few static files the pages use (`/assets/*`), read once and cached. */
export function serveAssets(): Middleware {
  const cache = new Map<string, Buffer>();
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/assets/') || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const name = ctx.path.slice('/assets/'.length);
    const asset = Object.hasOwn(assets, name) ? assets[name] : undefined;
    if (!asset) return next();
    let body = cache.get(name);
    if (!body) {
      body = await readFile(asset.path());
      cache.set(name, body);
    }
    ctx.state.route = '/assets/:name';
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = body;
  };
}
