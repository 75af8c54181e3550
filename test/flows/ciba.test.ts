/**
 * CIBA (OpenID Client-Initiated Backchannel Authentication), first part: the grant per tenant, the
 * rules of registration, who a hint names, the binding message, `slow_down`, and the audit of each
 * request; through real HTTP with openid-client. Approval (account console, approval API) comes next.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, BOOTSTRAP, call } from '../admin/helpers.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';

const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';

let gh: TestGatehouse;
let acme: SeededTenant;
let root: string;
let now = Date.now();
let bank: client.Configuration;

async function register(tenant: string, body: Record<string, unknown>) {
  return call(gh, root, 'POST', `/tenants/${tenant}/clients`, { client_name: 'Call centre', grant_types: [CIBA_GRANT], backchannel_token_delivery_mode: 'poll', ...body });
}

async function rpOf(tenant: string, clientId: string, secret: string): Promise<client.Configuration> {
  return client.discovery(new URL(gh.issuer(tenant)), clientId, secret, undefined, { execute: [client.allowInsecureRequests] });
}

async function initiate(config: client.Configuration, params: Record<string, string>) {
  try {
    return { response: await client.initiateBackchannelAuthentication(config, { scope: 'openid', ...params }) };
  } catch (error) {
    return { error: (error as { error?: string }).error ?? String(error), description: (error as { error_description?: string }).error_description };
  }
}

async function pollOnce(config: client.Configuration, authReqId: string) {
  try {
    return { tokens: await client.genericGrantRequest(config, CIBA_GRANT, { auth_req_id: authReqId }) };
  } catch (error) {
    return { error: (error as { error?: string }).error ?? String(error) };
  }
}

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
      [{ backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: 'http://127.0.0.1:9/ping' }, 'http only on loopback, in development'],
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
