import type { Middleware } from 'koa';

/**
 * Headers on every response. The policy allows our own stylesheet and nothing else; scripts only
 * through a hash, which oidc-provider adds for its form_post auto-submit page. `form-action` is left
 * open because a login form's answer redirects on to the relying party, and Chrome applies
 * `form-action` to that redirect chain.
 */
const contentSecurityPolicy = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "script-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function securityHeaders(options: { hsts: boolean }): Middleware {
  return async (ctx, next) => {
    ctx.set('Content-Security-Policy', contentSecurityPolicy);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on our own form
    // posts, which the Origin check must refuse. Other sites still get no referrer at all.
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    ctx.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    if (options.hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await next();
  };
}
