import * as client from 'openid-client';
import { generate } from 'otplib';
import { INVALID_CREDENTIALS } from '../../src/interactions/steps/password.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage } from '../helpers/browser.js';
import { seedTenant, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, openLoginPage, relyingParty } from '../helpers/login.js';
import { SoftAuthenticator } from '../helpers/soft-authenticator.js';
import { everyDocument } from '../helpers/store-scan.js';
import { adminToken, call, startAdminGatehouse } from './helpers.js';

/**
 * Deleting a tenant deletes everything it owns, in every collection and in the short-lived state
 * (review defect 15), and nothing of a tenant whose id starts with the same letters.
 */
let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
});
afterAll(() => gh.stop());

/** Gives a tenant data of every kind a tenant can own, through the ways it really gets it. */
async function populate(id: string): Promise<void> {
  const tenant = await seedTenant(gh, id);
  // Keys (the context is built on first use), a service account and an API key, audit events.
  expect((await fetch(`${gh.issuer(id)}/jwks`)).status).toBe(200);
  const account = await call(gh, root, 'POST', `/tenants/${id}/service-accounts`, { name: 'Exporter', roles: [] });
  expect(account.status).toBe(201);
  expect((await call(gh, root, 'POST', `/tenants/${id}/service-accounts/${String(account.body['id'])}/api-keys`, { name: 'nightly' })).status).toBe(201);
  // A SAML app, and SAML certificates (the first made by the metadata, a next one staged).
  expect((await call(gh, root, 'POST', `/tenants/${id}/saml-apps`, { entity_id: 'https://sp.example/saml', acs_urls: [{ url: 'https://sp.example/acs', binding: 'HTTP-POST' }] })).status).toBe(201);
  expect((await fetch(`${gh.issuer(id)}/saml/metadata`)).status).toBe(200);
  expect((await call(gh, root, 'POST', `/tenants/${id}/saml-certificates`, {})).status).toBe(201);
  // A real login: the provider's session, grant, tokens and remembered consent.
  const rp = await relyingParty(gh, id, tenant.client.clientId, tenant.client.clientSecret);
  const browser = new Browser(gh.origin);
  const signIn = await authorize(browser, rp, { redirectUri: tenant.client.redirectUri });
  const tokens = await client.authorizationCodeGrant(rp, signIn.callback, { pkceCodeVerifier: signIn.verifier, expectedState: signIn.state });
  expect(tokens.refresh_token).toBeTruthy();
  // Sign-in throttle counters after a failed login, client-authentication counters after a wrong secret.
  const guesser = new Browser(gh.origin);
  const login = await openLoginPage(guesser, rp, tenant.client.redirectUri);
  const failed = expectPage(await guesser.submit(login, 'form[action$="/password"]', { username: 'alice', password: 'wrong' }));
  expect(failed.$('main').text()).toContain(INVALID_CREDENTIALS);
  const wrongSecret = await fetch(`${gh.issuer(id)}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${tenant.client.clientId}:wrong`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  expect(wrongSecret.status).toBe(401);
  // An account console session, and a revocation of sign-in devices.
  const console = new Browser(gh.origin);
  const consoleLogin = expectPage(await console.navigate(`/t/${id}/account/login`));
  expect(expectPage(await console.submit(consoleLogin, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD })).$('main').text()).toContain('alice@example.com');
  expect((await call(gh, root, 'DELETE', `/tenants/${id}/users/${tenant.userId}/sign-in-devices`)).status).toBe(204);
  // Second factors: an authenticator app, recovery codes, a pending enrolment and a wrong code's counter.
  const mfa = `/tenants/${id}/users/${tenant.userId}/mfa`;
  const enrolment = await call(gh, root, 'POST', `${mfa}/totp`, {});
  const secret = new URL(String(enrolment.body['totp_uri'])).searchParams.get('secret')!;
  const verify = `${mfa}/totp/${String(enrolment.body['enrollment_id'])}/verify`;
  expect((await call(gh, root, 'POST', verify, { code: await generate({ secret }) })).status).toBe(200);
  expect((await call(gh, root, 'POST', `${mfa}/recovery-codes`)).status).toBe(200);
  const pending = await call(gh, root, 'POST', `${mfa}/totp`, {});
  expect((await call(gh, root, 'POST', `${mfa}/totp/${String(pending.body['enrollment_id'])}/verify`, { code: 'wrong!' })).status).toBe(400);
  // A passkey (its factor and the user's handle) and a pending sign-in challenge.
  const settings = (await gh.app.tenants.find(id))!;
  const { origin } = gh.app.mfa.webauthn.relyingParty(settings);
  const registration = await gh.app.mfa.webauthn.startRegistration(settings, tenant.userId, { bindTo: 'console' });
  const response = new SoftAuthenticator().createCredential(registration.options, { origin });
  await gh.app.mfa.webauthn.finishRegistration(settings, tenant.userId, { registrationId: registration.registrationId, bindTo: 'console', response });
  await gh.app.mfa.webauthn.startAuthentication(settings, { bindTo: 'interaction' });
}

/** The collections holding a document that mentions the tenant id (as a whole word: `doomed`, not `doomed-2`). */
async function holdersOf(id: string, except: (doc: Record<string, unknown>) => boolean = () => false): Promise<string[]> {
  const mentions = new RegExp(`(?<![\\w-])${id}(?![\\w-])`);
  const docs = await everyDocument(gh.app.store);
  return [...new Set(docs.filter(({ doc, text }) => mentions.test(text) && !except(doc)).map(({ collection }) => collection))].sort();
}

describe('tenant deletion', () => {
  it('leaves nothing of the tenant in any collection or in the short-lived state, and nothing of a neighbour is lost', async () => {
    await populate('doomed');
    await populate('doomed-2');
    const owned = ['api_keys', 'audit_events', 'clients', 'ephemeral', 'keys', 'mfa_factors', 'oidc', 'resources', 'roles', 'saml_apps', 'saml_key_pointers', 'saml_keys', 'sign_in_devices', 'tenants', 'users', 'webauthn_user_handles'];
    expect(await holdersOf('doomed')).toEqual(expect.arrayContaining(owned));
    const neighbour = await holdersOf('doomed-2');

    expect((await call(gh, root, 'DELETE', '/tenants/doomed')).status).toBe(204);

    // Kept on purpose: the system tenant's record that the tenant was deleted (who, when).
    const deletionRecord = (doc: Record<string, unknown>) => doc['tenant'] === 'system' && doc['type'] === 'tenant.deleted';
    expect(await holdersOf('doomed', deletionRecord)).toEqual([]);
    expect(await holdersOf('doomed-2')).toEqual(neighbour);
    expect((await call(gh, root, 'GET', '/tenants/doomed-2')).status).toBe(200);
    expect((await call(gh, root, 'GET', '/audit-events?type=tenant.deleted')).status).not.toBe(500);
  });

  it('refuses to delete an unknown or malformed tenant, and deletes nothing', async () => {
    const before = (await everyDocument(gh.app.store)).length;
    for (const id of ['no-such-tenant', 'Bad_Id', '%7Bdoomed-2%7D', 'doomed-2%3A']) {
      const result = await call(gh, root, 'DELETE', `/tenants/${id}`);
      expect([400, 404], `${id}: ${result.status}`).toContain(result.status);
    }
    expect((await everyDocument(gh.app.store)).length).toBe(before);
  });
});
