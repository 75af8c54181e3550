/**
 * A user's sessions and grants through the admin API (issue 14): listed without the session
 * cookie's value, one session or all of them ended with back-channel logout to the clients that
 * registered it, a grant revoked so its refresh token is refused, each audited, and nothing of
 * another user or another tenant reachable.
 */
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, expectRedirect } from '../helpers/browser.js';
import { seedTenant, type SeededTenant, type TestGatehouse, startGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';
import { startBackchannelReceiver, type BackchannelReceiver } from '../helpers/backchannel-receiver.js';
import { BOOTSTRAP, adminToken, call, userAdminToken } from './helpers.js';

const BCL_REDIRECT = 'http://127.0.0.1:9/bcl';

let gh: TestGatehouse;
let root: string;
let receiver: BackchannelReceiver;

beforeAll(async () => {
  gh = await startGatehouse({ bootstrap: BOOTSTRAP, http: { allowPrivateNetworkFetch: true } });
  root = await adminToken(gh);
  receiver = await startBackchannelReceiver();
});
afterAll(async () => {
  await receiver.close();
  await gh.stop();
});

interface Signed {
  browser: Browser;
  rp: client.Configuration;
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
}

/** A tenant with `bcl-app` (web-app's settings plus a back-channel logout URI). */
async function tenantWithLogoutApp(id: string): Promise<{ tenant: SeededTenant; rp: client.Configuration }> {
  const tenant = await seedTenant(gh, id);
  const { clientSecret } = await gh.app.clients.create(id, {
    client_id: 'bcl-app',
    client_name: 'Logout App',
    redirect_uris: [BCL_REDIRECT],
    backchannel_logout_uri: `http://127.0.0.1:${receiver.port}/${id}`,
    backchannel_logout_session_required: true,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  });
  return { tenant, rp: await relyingParty(gh, id, 'bcl-app', clientSecret!) };
}

/** alice signs in to bcl-app in a browser of her own and gets a refresh token. */
async function signIn(rp: client.Configuration): Promise<Signed> {
  const browser = new Browser(gh.origin);
  const { callback, verifier, state } = await authorize(browser, rp, { redirectUri: BCL_REDIRECT });
  const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  expect(tokens.refresh_token).toBeTruthy();
  return { browser, rp, tokens };
}

/** Whether the browser still has a session: prompt=none answers a code, or login_required. */
async function silently(signed: Signed): Promise<string> {
  const url = client.buildAuthorizationUrl(signed.rp, { redirect_uri: BCL_REDIRECT, scope: 'openid', prompt: 'none', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
  const back = new URL(expectRedirect(await signed.browser.navigate(url.href, {}, BCL_REDIRECT)));
  return back.searchParams.get('error') ?? (back.searchParams.get('code') ? 'code' : 'nothing');
}

const path = (tenant: string, user: string, rest = '') => `/tenants/${tenant}/users/${user}${rest}`;

describe('a user’s sessions and grants', () => {
  it('lists sessions without their cookie, ends one with back-channel logout and its grants, and leaves the other', async () => {
    const { tenant, rp } = await tenantWithLogoutApp('acc-a');
    const first = await signIn(rp);
    const second = await signIn(rp);

    const listed = await call(gh, root, 'GET', path('acc-a', tenant.userId, '/sessions'));
    expect(listed.status).toBe(200);
    const sessions = listed.body.items!;
    expect(sessions).toHaveLength(2);
    for (const session of sessions) {
      expect(session).toMatchObject({ id: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/), amr: ['pwd'], acr: 'https://refeds.org/profile/sfa', clients: ['bcl-app'] });
      expect(Date.parse(String(session['created_at']))).toBeGreaterThan(0);
      // Last seen is the provider's own expiry less the session lifetime: at or after its start.
      expect(Date.parse(String(session['last_seen_at']))).toBeGreaterThanOrEqual(Date.parse(String(session['created_at'])));
    }
    // No session id in the answer is a session cookie of either browser.
    const cookies = [...first.browser.cookies, ...second.browser.cookies].map((cookie) => cookie.value);
    for (const value of cookies) expect(JSON.stringify(listed.body)).not.toContain(value);

    // Which listed session is the first browser's: its ID token's sid is in the logout token later.
    const firstSid = decodeJwt(first.tokens.id_token!)['sid'];
    const before = receiver.received.length;
    const results = await Promise.all(sessions.map(async (session) => ({ id: String(session['id']), status: (await call(gh, root, 'DELETE', path('acc-a', tenant.userId, `/sessions/${session['id']}`))).status })));
    expect(results.map((result) => result.status)).toEqual([204, 204]);
    expect(receiver.received.length - before).toBe(2);
    const sids = receiver.received.slice(before).map((entry) => decodeJwt(entry.token)['sid']);
    expect(sids).toContain(firstSid);
    expect(await silently(first)).toBe('login_required');
    expect(await silently(second)).toBe('login_required');
    // Their grants went with them: the refresh tokens are refused.
    await expect(client.refreshTokenGrant(rp, first.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    const events = (await gh.app.audit.list('acc-a', { type: 'user.session_ended', limit: 10 })).map((event) => event.details);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ grants_revoked: 1, backchannel_logouts: { delivered: 1, failed: 0 } });

    // Ending one of two sessions leaves the other signed in.
    const third = await signIn(rp);
    const fourth = await signIn(rp);
    const [one] = (await call(gh, root, 'GET', path('acc-a', tenant.userId, '/sessions'))).body.items!;
    expect((await call(gh, root, 'DELETE', path('acc-a', tenant.userId, `/sessions/${one!['id']}`))).status).toBe(204);
    const states = [await silently(third), await silently(fourth)].sort();
    expect(states).toEqual(['code', 'login_required']);
  });

  it('revokes a grant: its refresh token is refused, the client is told, the session itself stays', async () => {
    const { tenant, rp } = await tenantWithLogoutApp('acc-b');
    const signed = await signIn(rp);
    const grants = await call(gh, root, 'GET', path('acc-b', tenant.userId, '/grants'));
    expect(grants.status).toBe(200);
    expect(grants.body.items).toHaveLength(1);
    const [grant] = grants.body.items!;
    expect(grant).toMatchObject({ client_id: 'bcl-app', scopes: expect.arrayContaining(['openid', 'offline_access']) });

    const before = receiver.received.length;
    // Twice at once: one revokes, the other finds nothing.
    const statuses = await Promise.all([1, 2].map(async () => (await call(gh, root, 'DELETE', path('acc-b', tenant.userId, `/grants/${grant!['id']}`))).status));
    expect(statuses.sort()).toEqual([204, 404]);
    await expect(client.refreshTokenGrant(rp, signed.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await client.tokenIntrospection(rp, signed.tokens.access_token)).toEqual({ active: false });
    expect(receiver.received.length - before).toBe(1);
    expect((await call(gh, root, 'GET', path('acc-b', tenant.userId, '/grants'))).body.items).toEqual([]);
    expect((await gh.app.audit.list('acc-b', { type: 'user.grant_revoked', limit: 5 })).length).toBe(1);
    // The browser session is still there (the app will ask for consent again, it is not a sign-out).
    expect((await call(gh, root, 'GET', path('acc-b', tenant.userId, '/sessions'))).body.items).toHaveLength(1);
    expect(await silently(signed)).not.toBe('login_required');
  });

  it('signs a user out everywhere: every session and grant, the other users untouched', async () => {
    const { tenant, rp } = await tenantWithLogoutApp('acc-c');
    const mine = [await signIn(rp), await signIn(rp)];
    const bob = await gh.app.users.create('acc-c', { username: 'bob', passwordHash: await gh.app.passwords.hash('bobs password 123') });
    const browser = new Browser(gh.origin);
    const { callback, verifier, state } = await authorize(browser, rp, { redirectUri: BCL_REDIRECT, username: 'bob', password: 'bobs password 123' });
    const bobs: Signed = { browser, rp, tokens: await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }) };

    expect((await call(gh, root, 'DELETE', path('acc-c', tenant.userId, '/sessions'))).status).toBe(204);
    for (const signed of mine) expect(await silently(signed)).toBe('login_required');
    await expect(client.refreshTokenGrant(rp, mine[0]!.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await call(gh, root, 'GET', path('acc-c', tenant.userId, '/sessions'))).body.items).toEqual([]);
    expect((await call(gh, root, 'GET', path('acc-c', tenant.userId, '/grants'))).body.items).toEqual([]);
    expect(await silently(bobs)).toBe('code');
    expect((await client.refreshTokenGrant(rp, bobs.tokens.refresh_token!)).access_token).toBeTruthy();
    const [event] = await gh.app.audit.list('acc-c', { type: 'user.signed_out_everywhere', limit: 5 });
    expect(event?.details).toMatchObject({ sessions_ended: 2, grants_revoked: 2, consents_forgotten: 0 });

    // Bob's session and grant are not alice's to end: 404, and they stay.
    const [bobSession] = (await call(gh, root, 'GET', path('acc-c', bob._id, '/sessions'))).body.items!;
    const [bobGrant] = (await call(gh, root, 'GET', path('acc-c', bob._id, '/grants'))).body.items!;
    expect((await call(gh, root, 'DELETE', path('acc-c', tenant.userId, `/sessions/${bobSession!['id']}`))).status).toBe(404);
    expect((await call(gh, root, 'DELETE', path('acc-c', tenant.userId, `/grants/${bobGrant!['id']}`))).status).toBe(404);
    expect(await silently(bobs)).toBe('code');
  });

  it('refuses another tenant’s admin, a read-only token, unknown users and malformed ids', async () => {
    const { tenant, rp } = await tenantWithLogoutApp('acc-d');
    const signed = await signIn(rp);
    await seedTenant(gh, 'acc-e');
    const otherAdmin = await userAdminToken(gh, 'acc-e');
    const [session] = (await call(gh, root, 'GET', path('acc-d', tenant.userId, '/sessions'))).body.items!;
    const [grant] = (await call(gh, root, 'GET', path('acc-d', tenant.userId, '/grants'))).body.items!;

    // acc-e's admin, on acc-d's paths: refused; on its own tenant's paths with acc-d's ids: nothing found.
    for (const [method, rest] of [['GET', '/sessions'], ['DELETE', `/sessions/${session!['id']}`], ['GET', '/grants'], ['DELETE', `/grants/${grant!['id']}`], ['DELETE', '/sessions']] as const) {
      expect((await call(gh, otherAdmin, method, path('acc-d', tenant.userId, rest))).status).toBe(403);
      expect((await call(gh, otherAdmin, method, path('acc-e', tenant.userId, rest))).status).toBe(404);
    }
    const reader = await adminToken(gh, { scope: 'admin:users:read' });
    expect((await call(gh, reader, 'GET', path('acc-d', tenant.userId, '/sessions'))).status).toBe(200);
    expect((await call(gh, reader, 'DELETE', path('acc-d', tenant.userId, `/sessions/${session!['id']}`))).status).toBe(403);
    expect((await call(gh, reader, 'DELETE', path('acc-d', tenant.userId, `/grants/${grant!['id']}`))).status).toBe(403);
    expect((await call(gh, root, 'GET', path('acc-d', 'no-such-user', '/sessions'))).status).toBe(404);
    for (const bad of ['short', 'x'.repeat(33), '$ne', '..%2F..%2Fsessions', encodeURIComponent('<script>')]) {
      expect((await call(gh, root, 'DELETE', path('acc-d', tenant.userId, `/sessions/${bad}`))).status, bad).toBeOneOf([400, 404]);
    }
    expect((await call(gh, root, 'DELETE', path('acc-d', tenant.userId, `/grants/${'g'.repeat(129)}`))).status).toBe(400);
    expect((await call(gh, root, 'DELETE', path('acc-d', tenant.userId, '/sessions/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'))).status).toBe(404);
    // After all that, alice is still signed in and her grant still refreshes.
    expect(await silently(signed)).toBe('code');
    expect((await client.refreshTokenGrant(rp, signed.tokens.refresh_token!)).access_token).toBeTruthy();
  });
});
