import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { TenantBranding } from '../domain/tenants.js';

/** What every page of a tenant shows of its branding; built once per tenant context. */
export interface PageBranding {
  /** an https image URL accepted by `logoUrlProblem` */
  logoUrl?: string;
  /** the tenant's stylesheet (`/t/{tenant}/branding.css`), when it sets a colour */
  stylesheet?: { href: string; css: string };
}

type Rgb = [number, number, number];

const rgbOf = (hex: string): Rgb => [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16)) as Rgb;
const hexOf = (rgb: Rgb): string => `#${rgb.map((channel) => Math.round(channel).toString(16).padStart(2, '0')).join('')}`;

/** WCAG 2.x relative luminance. */
function luminance(rgb: Rgb): number {
  const [r, g, b] = rgb.map((channel) => {
    const c = channel / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as Rgb;
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

const contrast = (a: number, b: number) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
const mix = (from: Rgb, to: Rgb, amount: number): Rgb => from.map((channel, i) => channel + (to[i]! - channel) * amount) as Rgb;

const WHITE: Rgb = [255, 255, 255];
const INK: Rgb = [17, 17, 17];

/**
 * The custom properties `views/assets/gatehouse.css` themes with, for one accent colour. Text on the
 * accent is white or near-black, whichever contrasts more, so a light accent keeps readable buttons;
 * the hover shade moves away from the text colour, so it stays readable too. One `:root` rule after
 * the base stylesheet overrides the light and the dark scheme alike.
 */
export function accentCss(accentColor: string): string {
  const accent = rgbOf(accentColor);
  const onWhite = contrast(luminance(accent), luminance(WHITE)) >= contrast(luminance(accent), luminance(INK));
  const hover = mix(accent, onWhite ? [0, 0, 0] : WHITE, onWhite ? 0.15 : 0.2);
  return [
    '/* Tenant branding: the accent colour, in both colour schemes. */',
    ':root {',
    `  --gh-accent: ${hexOf(accent)};`,
    `  --gh-accent-hover: ${hexOf(hover)};`,
    `  --gh-on-accent: ${hexOf(onWhite ? WHITE : INK)};`,
    '}',
    '',
  ].join('\n');
}

/**
 * The page branding of a tenant whose pages live under `tenantPath` (`/t/{tenant}`), from branding
 * already checked by `acceptedBranding`. The stylesheet's URL carries a digest of its content, so a
 * changed colour is a new URL and browsers may cache each one.
 */
export function pageBrandingFor(tenantPath: string, branding: TenantBranding): PageBranding {
  const css = branding.accentColor ? accentCss(branding.accentColor) : undefined;
  const version = css && createHash('sha256').update(css).digest('base64url').slice(0, 16);
  return {
    ...(branding.logoUrl ? { logoUrl: branding.logoUrl } : {}),
    ...(css ? { stylesheet: { href: `${tenantPath}/branding.css?v=${version}`, css } } : {}),
  };
}

/** Where under a tenant its stylesheet is (`tenant-routes.ts`). */
export const brandingStylesheetPath = '/branding.css';

/**
 * `GET /t/{tenant}/branding.css`: the tenant's colours as a stylesheet of our own origin, so CSP keeps
 * `style-src 'self'` with no inline styles. A tenant without colours gets an empty sheet rather than a
 * 404, so a page rendered just before its colours were removed loads without an error.
 */
export function brandingRouter(): Router {
  const router = new Router();
  router.get(`/t/:tenant${brandingStylesheetPath}`, (ctx: Context) => {
    const branding = (ctx.state.tenant as { branding: PageBranding }).branding;
    ctx.type = 'text/css; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = branding.stylesheet?.css ?? '/* This tenant sets no colours. */\n';
  });
  return router;
}
