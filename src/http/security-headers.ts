import type { Middleware } from 'koa';

/**
 * An https origin as CSP names it: no wildcard, no path, nothing that could end the directive. The
 * logo URLs it comes from are checked already (`domain/branding.ts`); this keeps the header sound
 * whatever a caller passes.
 */
const httpsOrigin = /^https:\/\/[a-z0-9-]+(\.[a-z0-9-]+)*(:[0-9]{1,5})?$/;

/**
 * The Content-Security-Policy of every response. The policy allows our own stylesheets and nothing
 * else; scripts only through a hash, which oidc-provider adds for its form_post auto-submit page.
 * `form-action` is left open because a login form's answer redirects on to the relying party, and
 * Chrome applies `form-action` to that redirect chain. Images come from us, and under a tenant also
 * from its logo's origin (`imageOrigins`, set by the tenant's context), never from a wildcard.
 */
export function contentSecurityPolicy(imageOrigins: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "style-src 'self'",
    ["img-src 'self' data:", ...imageOrigins.filter((origin) => httpsOrigin.test(origin))].join(' '),
    "script-src 'self'",
    // Our page scripts (passkeys) talk JSON to their own origin; nothing else is reachable.
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

const defaultPolicy = contentSecurityPolicy();

/** The headers as name/value pairs, for the Koa middleware and the protocol fast path alike. */
export function securityHeaderList(options: { hsts: boolean }): Array<[string, string]> {
  return [
    ['Content-Security-Policy', defaultPolicy],
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
