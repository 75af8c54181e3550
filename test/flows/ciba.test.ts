/**
 * CIBA (OpenID Client-Initiated Backchannel Authentication), first part: the grant per tenant, the
 * rules of registration, who a hint names, the binding message, `slow_down`, and the audit of each
 * request; through real HTTP with openid-client. Approval (account console, approval API) comes next.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ACR } from '../../src/authn/assurance.js';
import { Browser } from '../helpers/browser.js';
import { adminToken, BOOTSTRAP, call } from '../admin/helpers.js';
import { api as apiAt, approvalToken as tokenAt, CIBA_GRANT, initiate, pendingId as pendingAt, pollOnce, rpOf as rpAt } from '../helpers/ciba.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';

let gh: TestGatehouse;
let acme: SeededTenant;
let root: string;
let now = Date.now();
let bank: client.Configuration;

async function register(tenant: string, body: Record<string, unknown>) {
  return call(gh, root, 'POST', `/tenants/${tenant}/clients`, { client_name: 'Call centre', grant_types: [CIBA_GRANT], backchannel_token_delivery_mode: 'poll', ...body });
}

const rpOf = (tenant: string, clientId: string, secret: string) => rpAt(gh, tenant, clientId, secret);

beforeAll(async () => {
  gh = await startGatehouse({ bootstrap: BOOTSTRAP }, { clock: () => now });
  acme = await seedTenant(gh, 'acme');
  await seedTenant(gh, 'globex');
  root = await adminToken(gh);
  expect((await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { ciba: { enabled: true } } })).status).toBe(200);
  const created = await register('acme', { client_id: 'call-centre' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  bank = await rpOf('acme', 'call-centre', (created.body as { client_secret: string }).client_secret);
});
afterAll(() => gh.stop());

describe('the grant', () => {
  it('is announced in discovery only where the tenant turned it on, without user_code', async () => {
    const acmeDiscovery = (await (await fetch(`${gh.issuer('acme')}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(acmeDiscovery).toMatchObject({
      backchannel_authentication_endpoint: `${gh.issuer('acme')}/backchannel`,
      backchannel_token_delivery_modes_supported: ['poll', 'ping'],
      backchannel_user_code_parameter_supported: false,
    });
    expect(acmeDiscovery['grant_types_supported']).toContain(CIBA_GRANT);
    const globex = (await (await fetch(`${gh.issuer('globex')}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(globex['backchannel_authentication_endpoint']).toBeUndefined();
  });

  it('starts a request for a username, an e-mail address or a phone number, audits it, and answers authorization_pending, then slow_down to a fast poller', async () => {
    for (const hint of ['alice', 'alice@example.com', '+15555550100']) {
      const { response, error, description } = await initiate(bank, { login_hint: hint, binding_message: 'Call 4711' });
      expect(error, `${hint}: ${description}`).toBeUndefined();
      expect(response!.auth_req_id).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(response!.expires_in).toBe(600);
    }
    const { response } = await initiate(bank, { login_hint: 'alice', requested_expiry: '120' });
    expect(response!.expires_in).toBe(120);
    expect((await pollOnce(bank, response!.auth_req_id)).error).toBe('authorization_pending');
    expect((await pollOnce(bank, response!.auth_req_id)).error).toBe('slow_down');
    now += 11_000;
    expect((await pollOnce(bank, response!.auth_req_id)).error).toBe('authorization_pending');

    const events = await gh.app.audit.list('acme', { type: 'ciba.requested', limit: 10 });
    expect(events[0]).toMatchObject({ actor: { type: 'client', id: 'call-centre' }, target: { type: 'user', id: acme.userId } });
  });
});

describe('bad input', () => {
  it('answers unknown_user_id alike for an unknown user, a disabled one, a phone nobody holds and a login_hint_token', async () => {
    const bob = await gh.app.users.create('acme', { username: 'bob', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    await gh.app.users.setDisabled('acme', bob._id, true);
    for (const hint of ['nobody', 'bob', '+15555550199', 'x'.repeat(300)]) {
      const result = await initiate(bank, { login_hint: hint });
      expect(result.error, hint).toBe('unknown_user_id');
    }
  });

  it('refuses an oversized binding message or one with control characters', async () => {
    for (const message of ['x'.repeat(65), 'line\nbreak', 'bidi\u202Eoverride', 'tab\there']) {
      const result = await initiate(bank, { login_hint: 'alice', binding_message: message });
      expect(result.error, `${JSON.stringify(message)}: ${result.description}`).toBe('invalid_binding_message');
    }
    expect((await initiate(bank, { login_hint: 'alice', binding_message: 'Überweisung 42 € — ok?' })).error).toBeUndefined();
    expect((await initiate(bank, { login_hint: 'alice', user_code: '1234' })).description).toBe('user_code is not supported');
  });

  it('refuses an id_token_hint another tenant issued', async () => {
    const globex = await call(gh, root, 'POST', '/tenants/globex/clients', { client_name: 'x', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    expect(globex.status).toBe(201);
    // Any JWT signed by the other tenant's keys: a client-credentials access token will do as a foreign signature.
    const foreign = await client.clientCredentialsGrant(await rpOf('globex', (globex.body as { client_id: string }).client_id, (globex.body as { client_secret: string }).client_secret), {});
    const result = await initiate(bank, { id_token_hint: foreign.access_token });
    expect(result.error).toBe('invalid_request');
  });

  it('answers unauthorized_client to a client registered without the grant', async () => {
    const web = await rpOf('acme', acme.client.clientId, acme.client.clientSecret);
    expect((await initiate(web, { login_hint: 'alice' })).error).toBe('unauthorized_client');
  });

  it('refuses to register CIBA for a public client, or a ping endpoint that is http or internal', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ token_endpoint_auth_method: 'none' }, 'confidential clients only'],
      [{ backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: 'http://bank.example/ping' }, 'backchannel_client_notification_endpoint'],
      [{ backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: 'https://10.1.2.3/ping' }, 'special-use address'],
      [{ backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: 'https://127.0.0.1/ping' }, 'special-use address'],
      [{ backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: 'http://127.0.0.1:9/ping' }, 'must be an https URL'],
      [{ backchannel_token_delivery_mode: 'ping' }, 'backchannel_client_notification_endpoint'],
      [{ backchannel_token_delivery_mode: 'push' }, 'backchannel_token_delivery_mode'],
    ];
    for (const [body, message] of cases) {
      const refused = await register('acme', body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(refused.body), JSON.stringify(body)).toContain(message);
    }
    const ping = await register('acme', { backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: 'https://bank.example/ping' });
    expect(ping.status, JSON.stringify(ping.body)).toBe(201);
    expect(ping.body).toMatchObject({ backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: 'https://bank.example/ping' });
  });
});

// The shared helpers (test/helpers/ciba.ts), with this file's defaults: this Gatehouse, tenant acme.
const approvalToken = (username = 'alice', server = gh, seeded = acme) => tokenAt(server, seeded, username);
const api = (token: string, method: 'GET' | 'POST', path: string, server = gh) => apiAt(server, token, method, path);
const pendingId = (token: string, bindingMessage: string, server = gh) => pendingAt(server, token, bindingMessage);

describe('approval through the approval API', () => {
  let token: string;

  beforeAll(async () => {
    expect((await call(gh, root, 'PATCH', `/tenants/acme/clients/${acme.client.clientId}`, { first_party: true })).status).toBe(200);
    token = await approvalToken();
  });

  it('lists the user’s pending request without its auth_req_id, and approval gives the polling client its tokens', async () => {
    const { response } = await initiate(bank, { login_hint: 'alice', binding_message: 'Approve 1' });
    const list = await api(token, 'GET', '/requests');
    const item = (list.body!['items'] as Array<Record<string, unknown>>).find((entry) => entry['binding_message'] === 'Approve 1')!;
    expect(item).toMatchObject({ client_id: 'call-centre', client_name: 'Call centre', scope: 'openid', acr_values: [] });
    expect(JSON.stringify(list.body)).not.toContain(response!.auth_req_id);
    expect((await api(token, 'POST', `/requests/${String(item['id'])}/approve`)).status).toBe(204);
    now += 6_000;
    const result = await pollOnce(bank, response!.auth_req_id);
    expect(result.tokens?.claims()).toMatchObject({ sub: acme.userId, amr: ['pwd'] });
    const events = await gh.app.audit.list('acme', { type: 'ciba.approved', limit: 5 });
    expect(events[0]).toMatchObject({ actor: { type: 'user', id: acme.userId }, target: { type: 'client', id: 'call-centre' } });
  });

  it('answers access_denied to the client after a denial, and takes a decision once, also in parallel', async () => {
    const denied = await initiate(bank, { login_hint: 'alice', binding_message: 'Deny 1' });
    expect((await api(token, 'POST', `/requests/${await pendingId(token, 'Deny 1')}/deny`)).status).toBe(204);
    now += 6_000;
    expect((await pollOnce(bank, denied.response!.auth_req_id)).error).toBe('access_denied');

    await initiate(bank, { login_hint: 'alice', binding_message: 'Race 1' });
    const id = await pendingId(token, 'Race 1');
    const results = await Promise.all([...Array.from({ length: 3 }, () => api(token, 'POST', `/requests/${id}/approve`)), ...Array.from({ length: 3 }, () => api(token, 'POST', `/requests/${id}/deny`))]);
    expect(results.filter((result) => result.status === 204)).toHaveLength(1);
    expect(results.every((result) => [204, 404, 409].includes(result.status))).toBe(true);
    // Decided: approving again finds nothing pending.
    expect((await api(token, 'POST', `/requests/${id}/approve`)).status).toBe(404);
  });

  it('refuses another user’s token, a token without the scope, no token and a third-party app asking for the API', async () => {
    await initiate(bank, { login_hint: 'alice', binding_message: 'Other 1' });
    const id = await pendingId(token, 'Other 1');
    await gh.app.users.create('acme', { username: 'carol', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    const carol = await approvalToken('carol');
    expect((await api(carol, 'GET', '/requests')).body).toEqual({ items: [] });
    expect((await api(carol, 'POST', `/requests/${id}/approve`)).status).toBe(404);
    const none = await fetch(`${gh.issuer('acme')}/ciba/requests`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('invalid_token');
    expect((await api('not.a.token', 'GET', '/requests')).status).toBe(401);
    expect((await api(token, 'POST', '/requests/short/approve')).status).toBe(404);

    const third = await call(gh, root, 'POST', '/tenants/acme/clients', { client_name: 'Third party', redirect_uris: ['http://127.0.0.1:9/third'] });
    const thirdRp = await rpOf('acme', (third.body as { client_id: string }).client_id, (third.body as { client_secret: string }).client_secret);
    const url = client.buildAuthorizationUrl(thirdRp, { redirect_uri: 'http://127.0.0.1:9/third', scope: 'openid ciba:approve', resource: `${gh.issuer('acme')}/ciba`, code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const answer = await new Browser(gh.origin).navigate(url.href, {}, 'http://127.0.0.1:9/third');
    expect('redirectedTo' in answer ? new URL(answer.redirectedTo).searchParams.get('error') : 'no redirect').toBe('invalid_target');
  });

  it('refuses an approval whose sign-in is weaker than the request asks for, saying so in WWW-Authenticate', async () => {
    await initiate(bank, { login_hint: 'alice', binding_message: 'Strong 1', acr_values: ACR.multiFactor });
    const id = await pendingId(token, 'Strong 1');
    const refused = await api(token, 'POST', `/requests/${id}/approve`);
    expect(refused.status).toBe(401);
    expect(refused.challenge).toContain('insufficient_user_authentication');
    // Still pending: a refusal does not use the request up.
    expect(await pendingId(token, 'Strong 1')).toBe(id);
  });

  it('finds nothing to approve once the request has expired', async () => {
    await initiate(bank, { login_hint: 'alice', binding_message: 'Late 1', requested_expiry: '60' });
    const id = await pendingId(token, 'Late 1');
    // Past its expiry and the provider's 15 s clock tolerance, on the provider's clock (Date) and the app's.
    now += 80_000;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 80_000);
      expect((await api(token, 'POST', `/requests/${id}/approve`)).status).toBe(404);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('ping delivery', () => {
  let pinged: TestGatehouse;

  beforeAll(async () => {
    // The ping goes to loopback here: registered only because the operator allows private networks.
    pinged = await startGatehouse({ bootstrap: BOOTSTRAP, http: { allowPrivateNetworkFetch: true } });
  });
  afterAll(() => pinged?.stop());

  it('records the approval when the ping to the client fails, audits the failure, and the client can still poll', async () => {
    const seeded = await seedTenant(pinged, 'acme');
    const token = await adminToken(pinged);
    expect((await call(pinged, token, 'PATCH', '/tenants/acme', { security_policy: { ciba: { enabled: true } } })).status).toBe(200);
    expect((await call(pinged, token, 'PATCH', `/tenants/acme/clients/${seeded.client.clientId}`, { first_party: true })).status).toBe(200);
    // Nothing listens on port 1: every ping fails to connect.
    const created = await call(pinged, token, 'POST', '/tenants/acme/clients', { client_name: 'Bank', grant_types: [CIBA_GRANT], backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: 'https://127.0.0.1:1/ping' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { client_id: id, client_secret: secret } = created.body as { client_id: string; client_secret: string };
    const bankPing = await client.discovery(new URL(pinged.issuer('acme')), id, secret, undefined, { execute: [client.allowInsecureRequests] });
    const approval = await approvalToken('alice', pinged, seeded);

    const started = await client.initiateBackchannelAuthentication(bankPing, { scope: 'openid', login_hint: 'alice', binding_message: 'Ping 1', client_notification_token: 'notify-me-123' });
    expect((await api(approval, 'POST', `/requests/${await pendingId(approval, 'Ping 1', pinged)}/approve`, pinged)).status).toBe(204);
    const failed = await pinged.app.audit.list('acme', { type: 'ciba.ping_failed', limit: 5 });
    expect(failed).toHaveLength(1);
    expect(await pinged.app.audit.list('acme', { type: 'ciba.approved', limit: 5 })).toHaveLength(1);
    const tokens = await client.genericGrantRequest(bankPing, CIBA_GRANT, { auth_req_id: started.auth_req_id });
    expect(tokens.claims()?.sub).toBe(seeded.userId);
  });
});
