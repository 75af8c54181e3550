/**
 * The admin API of CIBA notifications (docs/ciba.md, docs/admin-api.md): the tenant's CIBA webhook
 * is refused at `PUT` for an http, internal, malformed or oversized URL, with the field named; a
 * channel is refused where it could not send; another tenant's admin can set nothing of it. This
 * Gatehouse runs as a deployment would (no private networks allowed), unlike the flow tests'.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCibaNotificationsPossible } from '../../src/admin/routes/tenant-ciba.js';
import type { AppContext } from '../../src/app-context.js';
import { adminApi, adminToken, BOOTSTRAP, call } from '../admin/helpers.js';
import { seedTenant, startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startGatehouse({ bootstrap: BOOTSTRAP });
  root = await adminToken(gh);
  await seedTenant(gh, 'acme');
  await seedTenant(gh, 'globex');
});
afterAll(() => gh.stop());

describe('PUT /tenants/{tenant}/ciba-webhook', () => {
  it('refuses an http, internal, malformed, oversized or credentialed URL, naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ url: 'http://app.acme.example/ciba' }, 'url: must be an https URL'],
      [{ url: 'https://10.1.2.3/ciba' }, 'url: 10.1.2.3 is a loopback, private or other special-use address'],
      [{ url: 'https://[fd00::1]/ciba' }, 'special-use address'],
      [{ url: 'https://169.254.169.254/latest/meta-data' }, 'special-use address'],
      // Loopback is for development mode; this Gatehouse runs as `test`.
      [{ url: 'https://127.0.0.1:8443/ciba' }, 'special-use address'],
      [{ url: 'http://127.0.0.1:8080/ciba' }, 'special-use address'],
      [{ url: 'not a url' }, '"url"'],
      [{ url: 'ftp://app.acme.example/ciba' }, 'url: must be an https URL'],
      [{ url: `https://app.acme.example/${'x'.repeat(2100)}` }, '"url"'],
      [{ url: 'https://user:pw@app.acme.example/ciba' }, 'url: must not carry credentials'],
      [{ url: 'https://app.acme.example/ciba', secret: 'mine-0123456789-0123456789-0123456789' }, '"secret"'],
      [{}, '"url"'],
    ];
    for (const [body, message] of cases) {
      const refused = await call(gh, root, 'PUT', '/tenants/acme/ciba-webhook', body);
      expect(refused.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(refused.body.error).toBe('invalid_request');
      expect(refused.body.error_description, JSON.stringify(body).slice(0, 80)).toContain(message);
    }
    expect((await gh.app.tenants.find('acme'))?.securityPolicy?.ciba?.webhook).toBeUndefined();
    expect(await gh.app.audit.list('acme', { type: 'tenant.ciba_webhook_set', limit: 1 })).toEqual([]);
  });

  it('sets a public https URL with a new secret each time, and audits set and removal', async () => {
    const first = await call(gh, root, 'PUT', '/tenants/acme/ciba-webhook', { url: 'https://app.acme.example/ciba' });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ url: 'https://app.acme.example/ciba', secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const second = await call(gh, root, 'PUT', '/tenants/acme/ciba-webhook', { url: 'https://app.acme.example/ciba' });
    expect(second.body['secret']).not.toBe(first.body['secret']);
    expect((await gh.app.audit.list('acme', { type: 'tenant.ciba_webhook_set', limit: 5 })).map((event) => event.actor.id)).toEqual([BOOTSTRAP.clientId, BOOTSTRAP.clientId]);
    expect((await call(gh, root, 'DELETE', '/tenants/acme/ciba-webhook')).status).toBe(204);
    expect(await gh.app.audit.list('acme', { type: 'tenant.ciba_webhook_removed', limit: 5 })).toHaveLength(1);
    expect((await gh.app.tenants.find('acme'))?.securityPolicy?.ciba?.webhook).toBeUndefined();
  });
});

describe('security_policy.ciba.notifications', () => {
  it('refuses the webhook channel while no CIBA webhook is set, at creation and at a change', async () => {
    const created = await call(gh, root, 'POST', '/tenants', { id: 'initech', display_name: 'Initech', security_policy: { ciba: { enabled: true, notifications: { webhook: true } } } });
    expect(created.status).toBe(409);
    expect(created.body.error_description).toContain('security_policy.ciba.notifications.webhook');
    expect(await gh.app.tenants.find('initech')).toBeNull();
    const changed = await call(gh, root, 'PATCH', '/tenants/globex', { security_policy: { ciba: { notifications: { webhook: true } } } });
    expect(changed.status).toBe(409);
    expect(changed.body.error_description).toContain('PUT /admin/v1/tenants/{tenant}/ciba-webhook');
    expect((await gh.app.tenants.find('globex'))?.securityPolicy?.ciba).toBeUndefined();
  });

  it('refuses unknown channels and non-boolean values', async () => {
    for (const notifications of [{ email: true }, { sms: 'yes' }, { webhook: null }, []]) {
      const refused = await call(gh, root, 'PATCH', '/tenants/globex', { security_policy: { ciba: { notifications } } });
      expect(refused.status, JSON.stringify(notifications)).toBe(400);
      expect(refused.body.error_description).toContain('security_policy.ciba.notifications');
    }
  });

  it('refuses the SMS channel where the operator configured no SMS sender (production without messaging.sms.sender)', () => {
    const config = gh.app.config;
    const without = { app: { config: { ...config, messaging: { ...config.messaging, sms: { ...config.messaging.sms, sender: undefined } } } } as unknown as AppContext };
    expect(() => assertCibaNotificationsPossible(without, { sms: true }, undefined)).toThrow(/security_policy\.ciba\.notifications\.sms: this Gatehouse has no SMS sender/);
    expect(() => assertCibaNotificationsPossible(without, { sms: false }, undefined)).not.toThrow();
    expect(() => assertCibaNotificationsPossible(gh, { sms: true }, undefined)).not.toThrow();
  });
});

describe('another tenant’s admin', () => {
  it('can neither set, remove nor switch on the webhook of a tenant not theirs', async () => {
    const api = adminApi(gh);
    await gh.app.roles.create('globex', { name: 'tenant-admin', permissions: [{ api, scope: 'admin:tenants' }] });
    const { clientSecret } = await gh.app.clients.create('globex', { client_id: 'globex-ops', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, { roles: ['tenant-admin'] });
    const token = await adminToken(gh, { tenant: 'globex', clientId: 'globex-ops', clientSecret: clientSecret!, scope: 'admin:tenants' });
    const set = await call(gh, root, 'PUT', '/tenants/acme/ciba-webhook', { url: 'https://app.acme.example/ciba' });
    expect(set.status).toBe(200);

    expect((await call(gh, token, 'PUT', '/tenants/acme/ciba-webhook', { url: 'https://attacker.example/steal' })).status).toBe(403);
    expect((await call(gh, token, 'DELETE', '/tenants/acme/ciba-webhook')).status).toBe(403);
    expect((await call(gh, token, 'PATCH', '/tenants/acme', { security_policy: { ciba: { enabled: true, notifications: { webhook: true } } } })).status).toBe(403);
    const acme = await gh.app.tenants.find('acme');
    expect(acme?.securityPolicy?.ciba?.webhook?.url).toBe('https://app.acme.example/ciba');
    expect(acme?.securityPolicy?.ciba?.notifications).toBeUndefined();
    // Their own tenant's webhook is theirs to set.
    expect((await call(gh, token, 'PUT', '/tenants/globex/ciba-webhook', { url: 'https://app.globex.example/ciba' })).status).toBe(200);
  });
});
