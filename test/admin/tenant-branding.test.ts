import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mfaFactorTypes } from '../../src/domain/tenants.js';
import { POW_DIFFICULTY } from '../../src/domain/proof-of-work-settings.js';
import type { TestGatehouse } from '../helpers/gatehouse.js';
import { tenantAdmin } from './client-helpers.js';
import { adminToken, call, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  expect((await call(gh, root, 'POST', '/tenants', { id: 'umbrella', display_name: 'Umbrella' })).status).toBe(201);
});
afterAll(() => gh.stop());

const GOOD = { accent_color: '#0a7f3c', logo_url: 'https://cdn.umbrella.example/brand/logo.png' };

/** Each is refused with a 400 naming the field, and nothing is stored. */
const hostileLogos: Array<[string, unknown]> = [
  ['javascript', 'javascript:alert(1)'],
  ['javascript disguised', 'JavaScript://cdn.example/%0Aalert(1)'],
  ['data', 'data:image/png;base64,iVBORw0KGgo='],
  ['http', 'http://cdn.umbrella.example/logo.png'],
  ['protocol-relative', '//cdn.umbrella.example/logo.png'],
  ['relative', '/logo.png'],
  ['svg', 'https://cdn.umbrella.example/logo.svg'],
  ['svg in capitals', 'https://cdn.umbrella.example/LOGO.SVG'],
  ['svgz', 'https://cdn.umbrella.example/logo.svgz'],
  ['svg percent-encoded', 'https://cdn.umbrella.example/logo%2Esvg'],
  ['svg behind a query', 'https://cdn.umbrella.example/logo.svg?v=2'],
  ['double quote', 'https://cdn.umbrella.example/logo.png" onerror="alert(1)'],
  ['single quote', "https://cdn.umbrella.example/it's.png"],
  ['angle brackets', 'https://cdn.umbrella.example/<script>.png'],
  ['space', 'https://cdn.umbrella.example/my logo.png'],
  ['newline', 'https://cdn.umbrella.example/logo.png\nX: y'],
  ['backslash', 'https:\\\\cdn.umbrella.example\\logo.png'],
  ['credentials', 'https://user:secret@cdn.umbrella.example/logo.png'],
  ['IPv6 literal (no CSP source can name it)', 'https://[2001:db8::1]/logo.png'],
  ['CSP separator in the host', 'https://cdn.umbrella.example;script-src/logo.png'],
  ['non-ASCII', 'https://cdn.umbrella.example/lögo.png'],
  ['too long', `https://cdn.umbrella.example/${'a'.repeat(2048)}.png`],
  ['empty', ''],
  ['not a string', 42],
  ['a list', ['https://cdn.umbrella.example/logo.png']],
];

const hostileColours: Array<[string, unknown]> = [
  ['CSS injection', '#fff;background:url(https://evil.example/x)'],
  ['closing the rule', '#ffffff}body{display:none'],
  ['short hex', '#fff'],
  ['eight-digit hex', '#ffffff80'],
  ['no hash', '2563eb'],
  ['named colour', 'red'],
  ['rgb()', 'rgb(0,0,0)'],
  ['var()', 'var(--gh-error)'],
  ['trailing newline', '#2563eb\n'],
  ['angle brackets', '#<2563>'],
  ['non-hex', '#gggggg'],
  ['empty', ''],
  ['not a string', 0x2563eb],
];

describe('tenant branding validation', () => {
  it('accepts an https PNG logo and a #rrggbb colour, on create and update, and shows them back', async () => {
    const created = await call(gh, root, 'POST', '/tenants', { id: 'umbrella-2', display_name: 'Umbrella 2', branding: GOOD });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body['branding']).toEqual(GOOD);
    const updated = await call(gh, root, 'PATCH', '/tenants/umbrella', { branding: { accent_color: '#A1B2C3', logo_url: 'https://logos.example/u/brand.webp?size=64' } });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body['branding']).toEqual({ accent_color: '#A1B2C3', logo_url: 'https://logos.example/u/brand.webp?size=64' });
    // `{}` removes the branding.
    expect((await call(gh, root, 'PATCH', '/tenants/umbrella', { branding: {} })).body['branding']).toEqual({});
  });

  it.each(hostileLogos)('refuses a logo_url: %s', async (_name, logo_url) => {
    const before = await gh.app.tenants.find('umbrella');
    const refused = await call(gh, root, 'PATCH', '/tenants/umbrella', { branding: { ...GOOD, logo_url } });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.body.error).toBe('invalid_request');
    expect(refused.body.error_description).toContain('"branding.logo_url"');
    expect((await gh.app.tenants.find('umbrella'))?.branding).toEqual(before?.branding);
    const created = await call(gh, root, 'POST', '/tenants', { id: 'umbrella-bad', display_name: 'Bad', branding: { logo_url } });
    expect(created.status).toBe(400);
    expect(created.body.error_description).toContain('"branding.logo_url"');
    expect(await gh.app.tenants.find('umbrella-bad')).toBeNull();
  });

  it.each(hostileColours)('refuses an accent_color: %s', async (_name, accent_color) => {
    const before = await gh.app.tenants.find('umbrella');
    const refused = await call(gh, root, 'PATCH', '/tenants/umbrella', { branding: { ...GOOD, accent_color } });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.body.error_description).toContain('"branding.accent_color"');
    expect((await gh.app.tenants.find('umbrella'))?.branding).toEqual(before?.branding);
  });

  it('says why an SVG or non-https logo is refused', async () => {
    const svg = await call(gh, root, 'PATCH', '/tenants/umbrella', { branding: { logo_url: 'https://cdn.umbrella.example/logo.svg' } });
    expect(svg.body.error_description).toMatch(/"branding\.logo_url": .*SVG/);
    const http = await call(gh, root, 'PATCH', '/tenants/umbrella', { branding: { logo_url: 'http://cdn.umbrella.example/logo.png' } });
    expect(http.body.error_description).toMatch(/"branding\.logo_url": .*https/);
    const colour = await call(gh, root, 'PATCH', '/tenants/umbrella', { branding: { accent_color: 'red' } });
    expect(colour.body.error_description).toMatch(/"branding\.accent_color": .*#rrggbb/);
  });

  it('refuses unknown branding fields (no free-form CSS)', async () => {
    for (const branding of [{ css: 'body{}' }, { background_color: '#ffffff' }, { logo_url: GOOD.logo_url, favicon_url: GOOD.logo_url }]) {
      const refused = await call(gh, root, 'PATCH', '/tenants/umbrella', { branding });
      expect(refused.status).toBe(400);
      expect(refused.body.error_description).toContain('"branding.');
    }
  });

  it('applies the same rules to a tenant’s own admins', async () => {
    const { token } = await tenantAdmin(gh, 'umbrella', 'umbrella-ops', ['admin:tenants']);
    const refused = await call(gh, token, 'PATCH', '/tenants/umbrella', { branding: { logo_url: 'data:image/png;base64,iVBORw0KGgo=' } });
    expect(refused.status).toBe(400);
    expect(refused.body.error_description).toContain('"branding.logo_url"');
    expect((await call(gh, token, 'PATCH', '/tenants/umbrella', { branding: GOOD })).status).toBe(200);
  });
});

describe('security_policy.mfa', () => {
  it('accepts "optional" and "required" now that the login enforces them (docs/mfa.md), on create and on change', async () => {
    for (const mfa of ['optional', 'required']) {
      const patched = await call(gh, root, 'PATCH', '/tenants/umbrella', { security_policy: { mfa } });
      expect(patched.status, mfa).toBe(200);
      expect(patched.body['security_policy']).toMatchObject({ mfa });
      const created = await call(gh, root, 'POST', '/tenants', { id: `mfa-${mfa}`, display_name: 'MFA', security_policy: { mfa } });
      expect(created.status, mfa).toBe(201);
    }
    expect((await gh.app.tenants.find('umbrella'))?.securityPolicy?.mfa).toBe('required');
  });

  it('refuses other values, and accepts "off"', async () => {
    for (const mfa of ['REQUIRED', '', true, null, ['off']]) {
      const refused = await call(gh, root, 'PATCH', '/tenants/umbrella', { security_policy: { mfa } });
      expect(refused.status, JSON.stringify(mfa)).toBe(400);
      expect(refused.body.error_description).toContain('"security_policy.mfa"');
    }
    const off = await call(gh, root, 'PATCH', '/tenants/umbrella', { security_policy: { mfa: 'off', password: { min_length: 12 } } });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body['security_policy']).toEqual({
      mfa: 'off',
      mfa_factors: [...mfaFactorTypes],
      password: { min_length: 12, breached_check: 'list' },
      require_pkce: true,
      device_flow: { enabled: true, user_code_lifetime_seconds: 600 },
      ciba: { enabled: false, notifications: { sms: false, webhook: false }, webhook_url: null },
      sms: { allowed_countries: null, message: '{code} is your {tenant} sign-in code.', webhook_url: null },
      registration: { enabled: false, fields: { email: 'required' }, verify_email: true },
      proof_of_work: { sign_up: false, sign_in_after_failures: null, password_reset: false, sms: false, difficulty: POW_DIFFICULTY.default },
      self_service: { account_deletion: false },
    });
  });

  it('documents the three modes in the OpenAPI document', async () => {
    const openapi = (await (await fetch(`${gh.origin}/admin/v1/openapi.json`)).json()) as Record<string, unknown>;
    expect(JSON.stringify(openapi)).toMatch(/"off","optional","required"/);
  });
});
