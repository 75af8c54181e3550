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

/** The headers as name/value pairs, for the Koa middleware and the protocol fast path alike. */
export function securityHeaderList(options: { hsts: boolean }): Array<[string, string]> {
  return [
    ['Content-Security-Policy', contentSecurityPolicy],
    ['X-Content-Type-Options', 'nosniff'],
    ['X-Frame-Options', 'DENY'],
    // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on our own form
    // posts, which the Origin check must refuse. Other sites still get no referrer at all.
    ['Referrer-Policy', 'same-origin'],
    ['Cross-Origin-Opener-Policy', 'same-origin'],
    ['Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()'],
    ...(options.hsts ? [['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'] as [string, string]] : []),
  ];
}

export function securityHeaders(options: { hsts: boolean }): Middleware {
  const headers = securityHeaderList(options);
  return async (ctx, next) => {
    for (const [name, value] of headers) ctx.set(name, value);
    await next();
  };
}
