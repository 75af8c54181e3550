/**
 * CIBA notification channels per tenant (issue 12): an SMS with the approval link through the SMS
 * sender port, and a signed `ciba.requested` webhook to the tenant's own app, which approves through
 * the approval API. Real HTTP throughout: openid-client as the CIBA client, an SMS gateway and the
 * tenant's app as receivers started here. Notifications run after the client's answer, so each test
 * waits for the background work (`app.background.idle()`) before looking at what arrived.
 */
import { request as httpRequest } from 'node:http';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smsSendPolicies } from '../../src/authn/sms-send-limits.js';
import { CIBA_GRANT } from '../../src/domain/client-metadata.js';
import { smsWebhookPurpose } from '../../src/domain/sms-settings.js';
import { adminToken, call } from '../admin/helpers.js';
import { Browser, expectPage } from '../helpers/browser.js';
import { approvalToken, initiate, registerCibaClient } from '../helpers/ciba.js';
import { seedTenant, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { startEventReceiver, type EventReceiver } from '../helpers/signed-receiver.js';
import { smsGateway, startSmsGatehouse, userWithPhone, type SmsGateway } from '../helpers/sms.js';

let gh: TestGatehouse;
let gateway: SmsGateway;
let app: EventReceiver;
let root: string;
let acme: SeededTenant;
let bank: client.Configuration;
let bankSecret: string;
let now = Date.now();
/** UK mobile numbers (the plan's full metadata accepts them; the SMS tests use the same block). */
const gb = (n: number) => `+4474005678${String(n).padStart(2, '0')}`;

/** A tenant with CIBA on, the first-party web app, a poll client, and the given notification channels. */
async function cibaTenant(id: string, notifications: { sms?: boolean; webhook?: boolean }) {
  const seeded = await seedTenant(gh, id);
  expect((await call(gh, root, 'PATCH', `/tenants/${id}`, { security_policy: { ciba: { enabled: true, notifications } } })).status).toBe(200);
  expect((await call(gh, root, 'PATCH', `/tenants/${id}/clients/web-app`, { first_party: true })).status).toBe(200);
  return { seeded, ...(await registerCibaClient(gh, id)) };
}

/** Sets the tenant's CIBA webhook to `url`; the receiver trusts the secret that comes back. */
async function setWebhook(tenant: string, url: string, receiver?: EventReceiver): Promise<string> {
  const set = await call(gh, root, 'PUT', `/tenants/${tenant}/ciba-webhook`, { url });
  expect(set.status, JSON.stringify(set.body)).toBe(200);
  const secret = String(set.body['secret']);
  receiver?.trust(secret);
  return secret;
}

/** The approval page's id of a request: the tenant's MAC of its id (the auth_req_id the client holds). */
async function publicId(tenant: string, authReqId: string): Promise<string> {
  return (await gh.gatehouse.pool.get(tenant))!.mac('ciba-request', authReqId);
}

async function failures(tenant: string) {
  return gh.app.audit.list(tenant, { type: 'ciba.notification_failed', limit: 50 });
}

beforeAll(async () => {
  gateway = await smsGateway();
  app = await startEventReceiver();
  // The SMS gateway and the tenant's app listen on loopback: reachable because the operator allows private networks.
  gh = await startSmsGatehouse(gateway, () => now);
  root = await adminToken(gh);
  ({ seeded: acme, rp: bank, secret: bankSecret } = await cibaTenant('acme', { sms: true }));
  await setWebhook('acme', app.url, app);
  expect((await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { ciba: { notifications: { webhook: true } } } })).status).toBe(200);
});
afterAll(async () => {
  await gh?.stop();
  await gateway?.close();
  await app?.close();
});

describe('the SMS channel', () => {
  it('texts the user’s phone the tenant, the client, the binding message and the approval link', async () => {
    const phone = gb(1);
    const { username } = await userWithPhone(gh, gateway, 'acme', phone);
    const { response, error } = await initiate(bank, { login_hint: username, binding_message: 'Call 4711' });
    expect(error).toBeUndefined();
    await gh.app.background.idle();
    const text = gateway.to(phone).at(-1)!;
    expect(text).toMatchObject({ tenant: 'acme', purpose: 'ciba', signedBy: 'operator' });
    const link = `${gh.issuer('acme')}/account/ciba/${await publicId('acme', response!.auth_req_id)}`;
    expect(text.text).toBe(`Tenant acme: Call centre asks you to approve a sign-in ("Call 4711"). Approve or deny: ${link}`);
    expect(text.text).not.toContain(response!.auth_req_id);
  });

  it('builds the link from the public URL, whatever Host and X-Forwarded-Host the request names', async () => {
    const phone = gb(2);
    const { username } = await userWithPhone(gh, gateway, 'acme', phone);
    const form = new URLSearchParams({ scope: 'openid', login_hint: username, binding_message: 'Host 1' }).toString();
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${gh.issuer('acme')}/backchannel`, {
        method: 'POST',
        headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`call-centre:${bankSecret}`).toString('base64')}` },
      });
      req.on('response', (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0)));
      req.on('error', reject);
      req.end(form);
    });
    expect(status).toBe(200);
    await gh.app.background.idle();
    const text = gateway.to(phone).at(-1)!.text;
    expect(text).toContain(`${gh.issuer('acme')}/account/ciba/`);
    expect(text).not.toContain('evil.example');
  });

  it('sends no text and reports nothing wrong for a user without a phone, or with an unverified profile phone only', async () => {
    await gh.app.users.create('acme', { username: 'nophone', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    const before = gateway.texts.length;
    const failed = (await failures('acme')).length;
    // alice has a profile phone that nobody verified: it is not texted.
    for (const hint of ['nophone', 'alice']) expect((await initiate(bank, { login_hint: hint })).error, hint).toBeUndefined();
    await gh.app.background.idle();
    expect(gateway.texts.length).toBe(before);
    expect((await failures('acme')).length).toBe(failed);
  });

  it('texts a verified profile phone when the user added no phone factor, and no number of a country the tenant does not text', async () => {
    const profile = gb(5);
    await gh.app.users.create('acme', { username: 'profile-phone', phone: profile, phoneVerified: true, passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    expect((await initiate(bank, { login_hint: 'profile-phone', binding_message: 'Profile 1' })).error).toBeUndefined();
    await gh.app.background.idle();
    expect(gateway.to(profile).at(-1)?.text).toContain('("Profile 1")');

    expect((await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { sms: { allowed_countries: ['FR'] } } })).status).toBe(200);
    try {
      const { response } = await initiate(bank, { login_hint: 'profile-phone', binding_message: 'Profile 2' });
      await gh.app.background.idle();
      expect(gateway.to(profile).at(-1)?.text).toContain('("Profile 1")');
      const [refused] = await failures('acme');
      expect(refused).toMatchObject({ details: { channel: 'sms', reason: 'country_not_allowed', request: await publicId('acme', response!.auth_req_id) } });
    } finally {
      expect((await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { sms: { allowed_countries: null } } })).status).toBe(200);
    }
  });

  it('counts texts against the SMS sending limits before sending, also for parallel requests', async () => {
    const phone = gb(3);
    const { username, userId } = await userWithPhone(gh, gateway, 'acme', phone);
    // The enrolment's code took one unit of the phone's budget.
    const left = smsSendPolicies.phone.cap - 1;
    const results = await Promise.all(Array.from({ length: left + 3 }, (_, i) => initiate(bank, { login_hint: username, binding_message: `Burst ${i}` })));
    expect(results.every((result) => result.response !== undefined)).toBe(true);
    await gh.app.background.idle();
    expect(gateway.to(phone).filter((text) => text.purpose === 'ciba')).toHaveLength(left);
    const limited = (await failures('acme')).filter((event) => event.target.id === userId);
    expect(limited).toHaveLength(3);
    expect(limited[0]).toMatchObject({ actor: { type: 'system' }, details: { channel: 'sms', reason: 'rate_limited' } });
  });
});

describe('the webhook channel', () => {
  it('POSTs a signed ciba.requested event, and the tenant’s app approves with its id through the approval API', async () => {
    const started = await initiate(bank, { login_hint: 'alice', binding_message: 'Webhook 1' });
    expect(started.error).toBeUndefined();
    await gh.app.background.idle();
    const received = app.events.find((event) => (event.body['request'] as Record<string, unknown>)['binding_message'] === 'Webhook 1')!;
    expect(received.verified).toBe(true);
    expect(Math.abs(received.timestamp - Math.floor(now / 1000))).toBeLessThan(5);
    const id = await publicId('acme', started.response!.auth_req_id);
    expect(received.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'ciba.requested',
      tenant: 'acme',
      occurred_at: expect.any(String),
      user: { sub: acme.userId, username: 'alice' },
      request: { id, client_id: 'call-centre', client_name: 'Call centre', binding_message: 'Webhook 1', scope: 'openid', acr_values: [], expires_at: expect.any(String), approval_url: `${gh.issuer('acme')}/account/ciba/${id}` },
    });
    expect(received.raw).not.toContain(started.response!.auth_req_id);

    // The link is the account console's page of this request: alice, signed in there, sees it.
    const browser = new Browser(gh.origin);
    const login = expectPage(await browser.navigate(`/t/acme/account/login`));
    expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    const page = expectPage(await browser.navigate(String((received.body['request'] as Record<string, unknown>)['approval_url'])));
    expect(page.status).toBe(200);
    expect(page.$('main').text()).toContain('Webhook 1');

    // The tenant's app: the user's token for the approval API, and the event's id.
    const token = await approvalToken(gh, acme, 'alice');
    // The event's request is the approval API's list item, with its page.
    const listed = (await (await fetch(`${gh.issuer('acme')}/ciba/requests`, { headers: { authorization: `Bearer ${token}` } })).json()) as { items: Array<Record<string, unknown>> };
    const { expires_at: listedExpiry, ...item } = listed.items.find((entry) => entry['id'] === id)!;
    const { expires_at: eventExpiry, ...event } = received.body['request'] as Record<string, unknown>;
    expect({ ...item, approval_url: `${gh.issuer('acme')}/account/ciba/${id}` }).toEqual(event);
    // The provider's clock ticks in seconds, and may have ticked between saving the request and notifying.
    expect(Math.abs(Date.parse(String(eventExpiry)) - Date.parse(String(listedExpiry)))).toBeLessThanOrEqual(1000);
    const approved = await fetch(`${gh.issuer('acme')}/ciba/requests/${id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(approved.status).toBe(204);
    const tokens = await client.genericGrantRequest(bank, CIBA_GRANT, { auth_req_id: started.response!.auth_req_id });
    expect(tokens.claims()).toMatchObject({ sub: acme.userId, amr: ['pwd'] });
  });

  it('answers the client at once and audits the failure when the tenant’s app is down, answers 500 or never answers', async () => {
    const down = await startEventReceiver(() => 500);
    const hung = await startEventReceiver(() => 'hang');
    const { seeded, rp } = await cibaTenant('flaky', {});
    try {
      const cases: Array<[string, string]> = [
        ['http://127.0.0.1:1/nothing-listens', 'could not reach'],
        [down.url, 'answered 500'],
        [hung.url, 'no answer within 5000 ms'],
      ];
      for (const [url, reason] of cases) {
        await setWebhook('flaky', url);
        expect((await call(gh, root, 'PATCH', '/tenants/flaky', { security_policy: { ciba: { notifications: { webhook: true } } } })).status).toBe(200);
        const started = Date.now();
        const { response, error } = await initiate(rp, { login_hint: 'alice', binding_message: 'Flaky 1' });
        expect(error, url).toBeUndefined();
        expect(response!.auth_req_id).toMatch(/^[A-Za-z0-9_-]{20,}$/);
        // Not held up by the receiver (the hung one would take 5 s).
        expect(Date.now() - started, url).toBeLessThan(2000);
        await gh.app.background.idle();
        const [event] = await failures('flaky');
        expect(event, url).toMatchObject({ target: { type: 'user', id: seeded.userId }, details: { channel: 'webhook', reason: 'not_sent', client_id: 'call-centre', request: await publicId('flaky', response!.auth_req_id) } });
        expect(String((event!.details as Record<string, unknown>)['error'])).toContain(reason);
      }
      expect(down.events).toHaveLength(1);
      expect(hung.events).toHaveLength(1);
    } finally {
      await down.close();
      await hung.close();
    }
  });
});

describe('settings', () => {
  it('sends nothing with the channels off, though a phone and a webhook are there', async () => {
    const quiet = await startEventReceiver();
    try {
      const { rp } = await cibaTenant('quiet', { sms: false, webhook: false });
      await setWebhook('quiet', quiet.url, quiet);
      const phone = gb(4);
      const { username } = await userWithPhone(gh, gateway, 'quiet', phone);
      expect((await initiate(rp, { login_hint: username })).error).toBeUndefined();
      await gh.app.background.idle();
      expect(gateway.to(phone).filter((text) => text.purpose === 'ciba')).toEqual([]);
      expect(quiet.events).toEqual([]);
      expect(await failures('quiet')).toEqual([]);

      // On, then the webhook removed: its channel goes off with it.
      expect((await call(gh, root, 'PATCH', '/tenants/quiet', { security_policy: { ciba: { notifications: { webhook: true } } } })).status).toBe(200);
      expect((await call(gh, root, 'DELETE', '/tenants/quiet/ciba-webhook')).status).toBe(204);
      const after = await call(gh, root, 'GET', '/tenants/quiet');
      expect((after.body['security_policy'] as Record<string, unknown>)['ciba']).toEqual({ enabled: true, notifications: { sms: false, webhook: false }, webhook_url: null });
      expect((await gh.app.audit.list('quiet', { type: 'tenant.ciba_webhook_removed', limit: 1 }))[0]).toMatchObject({ before: { url: quiet.url, notifications_webhook: true }, after: { url: null, notifications_webhook: false } });
      expect((await initiate(rp, { login_hint: username })).error).toBeUndefined();
      await gh.app.background.idle();
      expect(quiet.events).toEqual([]);
    } finally {
      await quiet.close();
    }
  });

  it('shows the channels and the webhook URL, never the secret, which is sealed under a purpose of its own; audits the change', async () => {
    const secret = await setWebhook('acme', app.url, app);
    const read = await call(gh, root, 'GET', '/tenants/acme');
    expect((read.body['security_policy'] as Record<string, unknown>)['ciba']).toEqual({ enabled: true, notifications: { sms: true, webhook: true }, webhook_url: app.url });
    expect(JSON.stringify(read.body)).not.toContain(secret);
    const sealed = (await gh.app.tenants.find('acme'))!.securityPolicy!.ciba!.webhook!.secret;
    expect(sealed).not.toContain(secret);
    expect(() => gh.app.box.open(sealed, smsWebhookPurpose('acme'))).toThrow();
    const [audited] = await gh.app.audit.list('acme', { type: 'tenant.ciba_webhook_set', limit: 1 });
    expect(audited).toMatchObject({ before: { url: app.url }, after: { url: app.url, secret_rotated: true } });
    expect(JSON.stringify(audited)).not.toContain(secret);
    // A PATCH that names only `enabled` keeps the channels and the webhook (the policy merges).
    const merged = await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { ciba: { enabled: true } } });
    expect((merged.body['security_policy'] as Record<string, unknown>)['ciba']).toEqual({ enabled: true, notifications: { sms: true, webhook: true }, webhook_url: app.url });
    const [updated] = await gh.app.audit.list('acme', { type: 'tenant.updated', limit: 1 });
    expect(updated).toBeDefined();
  });
});
