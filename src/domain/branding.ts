import type { TenantBranding } from './tenants.js';

export const LOGO_URL_MAX_LENGTH = 2048;

/**
 * Printable ASCII except space, `"`, `'`, `<`, `>`, `\` and `` ` ``: nothing that could end an HTML
 * attribute or a CSS token even if escaping failed, and nothing a URL parser would silently drop or
 * rewrite (WHATWG parsers strip tabs and newlines and turn `\` into `/`).
 */
const logoCharacters = /^[\x21\x23-\x26\x28-\x3b\x3d\x3f-\x5b\x5d-\x5f\x61-\x7e]+$/;

/**
 * A host a CSP source expression can name: DNS labels or an IPv4 address. CSP has no syntax for IPv6
 * literals, and `;` or `,` (which a URL host may hold) would end the directive or the policy.
 */
const cspHost = /^[a-z0-9-]+(\.[a-z0-9-]+)*$/;

/** Images whose file can carry script and external references; refused by their path's extension. */
const svgPath = /\.svgz?(;.*)?$/;

/**
 * What is wrong with a logo URL, if anything. The logo is an `<img>` on every page of the tenant, and
 * its origin is added to those pages' CSP `img-src`, so it must be https (not `data:`, which would let
 * any content in, nor http, which would be mixed content), name a host CSP can express, carry no
 * credentials, and not be an SVG.
 */
export function logoUrlProblem(value: string): string | undefined {
  if (value.length > LOGO_URL_MAX_LENGTH) return `must be at most ${LOGO_URL_MAX_LENGTH} characters`;
  if (!logoCharacters.test(value)) return !value ? 'must be an https:// URL' : 'may hold only printable ASCII without spaces, quotes, angle brackets, backslashes or backticks (percent-encode anything else)';
  const url = URL.parse(value);
  if (!url || !value.startsWith('https://') || url.protocol !== 'https:') return 'must be an https:// URL (http:, data: and javascript: are refused)';
  if (url.username || url.password) return 'must not contain a user name or password';
  if (!cspHost.test(url.hostname)) return 'must name its host by a DNS name or an IPv4 address';
  let path: string;
  try {
    path = decodeURIComponent(url.pathname).toLowerCase();
  } catch {
    return 'has malformed percent-encoding in its path';
  }
  if (svgPath.test(path)) return 'must not be an SVG image: use PNG, JPEG, WebP or GIF';
  return undefined;
}

/** What is wrong with an accent colour, if anything: only `#rrggbb`, so nothing but a colour reaches CSS. */
export function accentColorProblem(value: string): string | undefined {
  return /^#[0-9a-fA-F]{6}$/.test(value) ? undefined : 'must be a colour written #rrggbb (six hex digits), like #2563eb';
}

/**
 * The parts of stored branding that today's rules accept, and the names of those they refuse.
 * Pages show only the accepted parts: a tenant stored by an older version, or written to the store
 * by other means, may hold values the admin API would now refuse.
 */
export function acceptedBranding(branding: TenantBranding | undefined): { branding: TenantBranding; refused: string[] } {
  const accepted: TenantBranding = {};
  const refused: string[] = [];
  if (branding?.logoUrl !== undefined) {
    if (typeof branding.logoUrl === 'string' && !logoUrlProblem(branding.logoUrl)) accepted.logoUrl = branding.logoUrl;
    else refused.push('logo_url');
  }
  if (branding?.accentColor !== undefined) {
    if (typeof branding.accentColor === 'string' && !accentColorProblem(branding.accentColor)) accepted.accentColor = branding.accentColor;
    else refused.push('accent_color');
  }
  return { branding: accepted, refused };
}
