/**
 * Route labels are templates (`/t/:tenant/token`), never the path asked for: a label per path would
 * let any client create series at will. Our Koa routes name their own template (@koa/router's
 * matched layer); requests handed to a tenant's provider are named here, from the provider's
 * routes (oidc-provider's defaults, which Gatehouse does not change). Anything else is `unmatched`.
 */
export const UNMATCHED = 'unmatched';

const providerPaths = [
  '/auth',
  '/backchannel',
  '/challenge',
  '/credential',
  '/device',
  '/device/auth',
  '/jwks',
  '/me',
  '/reg',
  '/request',
  '/session/end',
  '/session/end/confirm',
  '/session/end/success',
  '/token',
  '/token/introspection',
  '/token/revocation',
  '/.well-known/oauth-authorization-server',
  '/.well-known/openid-configuration',
  '/.well-known/openid-credential-issuer',
];
const providerRoutes = new Map(providerPaths.map((path) => [path, `/t/:tenant${path}`]));
/** Provider routes with one parameter segment: the resume and device resume URLs, a registered client. */
const providerParamRoutes = new Map([
  ['/auth', '/t/:tenant/auth/:uid'],
  ['/device', '/t/:tenant/device/:uid'],
  ['/reg', '/t/:tenant/reg/:clientId'],
]);

/** The route template of a provider path below `/t/{tenant}` (`rest` has no query). */
export function providerRoute(rest: string): string {
  const exact = providerRoutes.get(rest);
  if (exact) return exact;
  const slash = rest.lastIndexOf('/');
  if (slash > 0 && slash < rest.length - 1) return providerParamRoutes.get(rest.slice(0, slash)) ?? UNMATCHED;
  return UNMATCHED;
}

const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The method label: the usual methods by name, the rest (Node parses dozens) as `other`. */
export function methodLabel(method: string | undefined): string {
  return method !== undefined && methods.has(method) ? method : 'other';
}
