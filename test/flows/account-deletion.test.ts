/**
 * Deleting one's own account in the console (issue 14), where the tenant allows it: only after a
 * fresh sign-in (with the second factor when enrolled) and the username typed; it removes the user
 * with their credentials, ends every session with back-channel logout and revokes every grant (the
 * refresh token is refused), audits without keeping the profile, and a later account with the same
 * username gets a new `sub`. Off by default; forged, stale, wrong and parallel requests delete
 * nothing or delete once.
 */
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { consoleSteps } from '../helpers/account-console.js';
import { TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize } from '../helpers/login.js';
import type { BackchannelReceiver } from '../helpers/backchannel-receiver.js';
import { BCL_REDIRECT, startWithLogoutReceiver, tenantWithLogoutApp } from '../helpers/logout-app.js';
import { totpCode } from '../helpers/totp.js';

let gh: TestGatehouse;
let receiver: BackchannelReceiver;
let stop: () => Promise<void>;
let offset = 0;

beforeAll(async () => {
  ({ gh, receiver, stop } = await startWithLogoutReceiver({ clock: () => Date.now() + offset }));
});
afterAll(() => stop());

const { addAuthenticator } = consoleSteps(() => gh);

/** A tenant with bcl-app, account deletion on unless `allowed` is false. */
async function tenant(id: string, allowed = true) {
  const made = await tenantWithLogoutApp(gh, receiver, id);
  if (allowed) {
    await gh.app.tenants.update(id, { securityPolicy: { selfService: { accountDeletion: true } } });
    gh.gatehouse.pool.evict(id);
  }
  return made;
}

/** alice signed in to bcl-app (with a refresh token), then to the console in the same browser. */
async function aliceSignedIn(id: string, rp: client.Configuration) {
  const browser = new Browser(gh.origin);
  const { callback, verifier, state } = await authorize(browser, rp, { redirectUri: BCL_REDIRECT });
  const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  const account = expectPage(await browser.navigate(`/t/${id}/account/login`));
  return { browser, tokens, account };
}

async function deletePage(browser: Browser, id: string): Promise<Page> {
  return expectPage(await browser.navigate(`/t/${id}/account/delete`));
}

const post = (browser: Browser, id: string, form: Record<string, string>, origin = gh.origin) => browser.request(`/t/${id}/account/delete`, { form, headers: { origin } });

async function silently(browser: Browser, rp: client.Configuration): Promise<string> {
  const url = client.buildAuthorizationUrl(rp, { redirect_uri: BCL_REDIRECT, scope: 'openid', prompt: 'none', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
  const back = new URL(expectRedirect(await browser.navigate(url.href, {}, BCL_REDIRECT)));
  return back.searchParams.get('error') ?? (back.searchParams.get('code') ? 'code' : 'nothing');
}

describe('account deletion', () => {
  it('is not offered, and refused, where the tenant has not turned it on', async () => {
    const { seeded, bcl } = await tenant('del1', false);
    const { browser, account } = await aliceSignedIn('del1', bcl);
    expect(account.$('a[href$="/account/delete"]').length).toBe(0);
    expect((await deletePage(browser, 'del1')).status).toBe(403);
    const csrf = account.$('input[name="csrf"]').attr('value')!;
    const refused = await post(browser, 'del1', { csrf, confirm: 'alice' });
    expect(refused.status).toBe(403);
    expect(await gh.app.users.findById('del1', seeded.userId)).not.toBeNull();
    expect(await silently(browser, bcl)).toBe('code');
  });

  it('removes the user, their credentials, sessions and grants, tells the app, and keeps no profile in the audit', async () => {
    const { seeded, bcl } = await tenant('del2');
    const { browser, tokens, account } = await aliceSignedIn('del2', bcl);
    expect(account.$('a[href$="/account/delete"]').length).toBe(1);
    // Without a second factor, the sign-in just made with the password is fresh enough.
    const page = await deletePage(browser, 'del2');
    expect(page.status).toBe(200);
    expect(page.$('#gh-delete-form').length).toBe(1);
    const before = receiver.received.length;
    const done = expectPage(await browser.submit(page, '#gh-delete-form', { confirm: 'alice' }));
    expect(done.status).toBe(200);
    expect(done.$('#gh-account-deleted').text()).toContain('has been deleted');

    expect(await gh.app.users.findById('del2', seeded.userId)).toBeNull();
    expect(await gh.app.users.findByIdentifier('del2', 'alice')).toBeNull();
    expect(await gh.app.mfa.factors.list('del2', seeded.userId)).toEqual([]);
    await expect(client.refreshTokenGrant(bcl, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const logouts = receiver.received.slice(before);
    expect(logouts).toHaveLength(1);
    expect(decodeJwt(logouts[0]!.token)['sub']).toBe(seeded.userId);
    expect(await silently(browser, bcl)).toBe('login_required');
    expect(expectPage(await browser.navigate('/t/del2/account')).$('a[href$="/account/security"]').length).toBe(0);

    const [event] = await gh.app.audit.list('del2', { type: 'user.deleted', limit: 5 });
    expect(event).toMatchObject({
      actor: { type: 'user', id: seeded.userId },
      target: { type: 'user', id: seeded.userId },
      details: { self_service: true, via: 'account_console', sessions_ended: 1, backchannel_logouts: { delivered: 1, failed: 0 } },
    });
    expect(event!.before).toBeUndefined();
    expect(JSON.stringify(event)).not.toContain('alice@example.com');
    expect(JSON.stringify(event)).not.toContain('Liddell');
  });

  it('a new account with the same username gets a new sub', async () => {
    const { seeded, bcl } = await tenant('del3');
    const first = await aliceSignedIn('del3', bcl);
    const oldSub = decodeJwt(first.tokens.id_token!).sub;
    expect(oldSub).toBe(seeded.userId);
    expect(expectPage(await first.browser.submit(await deletePage(first.browser, 'del3'), '#gh-delete-form', { confirm: 'alice' })).status).toBe(200);

    const again = await gh.app.users.create('del3', { username: 'alice', email: 'alice@example.com', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    expect(again._id).not.toBe(oldSub);
    const second = await aliceSignedIn('del3', bcl);
    const newSub = decodeJwt(second.tokens.id_token!).sub;
    expect(newSub).toBe(again._id);
    expect(newSub).not.toBe(oldSub);
    // The old account's tokens stay dead.
    await expect(client.refreshTokenGrant(bcl, first.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('asks for a fresh sign-in, with the second factor, and a wrong password gets no further', async () => {
    const { seeded, bcl } = await tenant('del4');
    const { browser } = await aliceSignedIn('del4', bcl);
    const { secret } = await addAuthenticator(browser, 'del4');
    await gh.app.mfa.recoveryCodes.generate('del4', seeded.userId);
    expect((await gh.app.mfa.factors.list('del4', seeded.userId)).map((factor) => factor.type).sort()).toEqual(['recovery_codes', 'totp']);
    // The sign-in was the password alone: deleting now asks for the authenticator too.
    const stale = await deletePage(browser, 'del4');
    expect(stale.$('#gh-delete-form').length).toBe(0);
    expect(stale.$('#gh-delete-sign-in').attr('href')).toBe('/t/del4/account/login?fresh=delete');
    const csrf = stale.$('input[name="csrf"]').attr('value') ?? expectPage(await browser.navigate('/t/del4/account')).$('input[name="csrf"]').attr('value')!;
    const refused = await post(browser, 'del4', { csrf, confirm: 'alice' });
    expect(refused.status).toBe(303);
    expect(refused.headers.get('location')).toBe('/t/del4/account/login?fresh=delete');

    const asked = new URL(expectRedirect(await browser.navigate('/t/del4/account/login?fresh=delete', {}, `${gh.issuer('del4')}/auth`)));
    expect(asked.searchParams.get('max_age')).toBe('0');
    expect(asked.searchParams.get('acr_values')).toBe('http://schemas.openid.net/pape/policies/2007/06/multi-factor');
    const login = expectPage(await browser.navigate(asked.href));
    const wrong = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: 'not the password' }));
    expect(wrong.status).toBe(401);
    expect((await post(browser, 'del4', { csrf, confirm: 'alice' })).status).toBe(303);
    expect(await gh.app.users.findById('del4', seeded.userId)).not.toBeNull();

    const second = expectPage(await browser.submit(wrong, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    const back = expectPage(await browser.submit(second, 'form[action$="/totp"]', { code: totpCode(secret, 0, gh.app.clock()) }));
    expect(back.url).toBe(`${gh.issuer('del4')}/account/delete`);
    expect(back.$('#gh-delete-form').length).toBe(1);

    // Five minutes on, the fresh sign-in is stale again.
    offset += 6 * 60 * 1000;
    try {
      const later = await deletePage(browser, 'del4');
      expect(later.$('#gh-delete-form').length).toBe(0);
      const freshCsrf = back.$('#gh-delete-form input[name="csrf"]').attr('value')!;
      expect((await post(browser, 'del4', { csrf: freshCsrf, confirm: 'alice' })).status).toBe(303);
    } finally {
      offset -= 6 * 60 * 1000;
    }
    // A passkey too, stored as registration would store it (the ceremony itself is tested elsewhere).
    const userHandle = await gh.app.mfa.webauthnCredentials.userHandle('del4', seeded.userId);
    await gh.app.mfa.webauthnCredentials.create('del4', seeded.userId, {
      name: 'Laptop', credentialId: 'Y3JlZGVudGlhbA', publicKey: 'cHVibGlj', counter: 0, transports: ['internal'], aaguid: '00000000-0000-0000-0000-000000000000',
      backupEligible: false, backedUp: false, deviceType: 'singleDevice', hardwareBound: true, userHandle,
    });
    expect((await gh.app.mfa.factors.list('del4', seeded.userId)).map((factor) => factor.type).sort()).toEqual(['recovery_codes', 'totp', 'webauthn']);
    expect(expectPage(await browser.submit(back, '#gh-delete-form', { confirm: 'alice' })).status).toBe(200);
    expect(await gh.app.users.findById('del4', seeded.userId)).toBeNull();
    expect(await gh.app.mfa.factors.list('del4', seeded.userId)).toEqual([]);
    expect(await gh.app.mfa.webauthnCredentials.ofUser('del4', seeded.userId)).toEqual([]);
    expect(await gh.app.mfa.webauthnCredentials.find('del4', 'Y3JlZGVudGlhbA')).toBeNull();
    expect(await gh.app.mfa.webauthnCredentials.userIdByHandle('del4', userHandle)).toBeUndefined();
  });

  it('refuses a wrong, missing, oversized or malformed confirmation, a missing CSRF token and another origin', async () => {
    const { seeded, bcl } = await tenant('del5');
    const { browser } = await aliceSignedIn('del5', bcl);
    const page = await deletePage(browser, 'del5');
    const csrf = page.$('#gh-delete-form input[name="csrf"]').attr('value')!;
    for (const confirm of ['Alice', 'bob', '', 'alice alice']) {
      const response = await post(browser, 'del5', { csrf, confirm });
      expect(response.status, confirm).toBe(400);
      expect(await response.text()).toContain('exactly to confirm');
    }
    expect((await post(browser, 'del5', { csrf })).status).toBe(400);
    expect((await post(browser, 'del5', { csrf, confirm: 'a'.repeat(300) })).status).toBe(400);
    expect((await post(browser, 'del5', { csrf, 'confirm[x]': 'alice' })).status).toBe(400);
    expect((await post(browser, 'del5', { csrf, confirm: 'alice', pad: 'x'.repeat(70 * 1024) })).status).toBe(413);
    expect((await post(browser, 'del5', { confirm: 'alice' })).status).toBe(403);
    expect((await post(browser, 'del5', { csrf: 'forged', confirm: 'alice' })).status).toBe(403);
    expect((await post(browser, 'del5', { csrf, confirm: 'alice' }, 'https://evil.example')).status).toBe(403);
    // Another browser, signed out, with the token copied: sent to sign in.
    const stranger = await post(new Browser(gh.origin), 'del5', { csrf, confirm: 'alice' });
    expect(stranger.status).toBe(303);
    expect(await gh.app.users.findById('del5', seeded.userId)).not.toBeNull();
    expect(await silently(browser, bcl)).toBe('code');
    expect(await gh.app.audit.list('del5', { type: 'user.deleted', limit: 5 })).toEqual([]);
  });

  it('parallel requests delete once, with one audit event', async () => {
    const { seeded, bcl } = await tenant('del6');
    const { browser } = await aliceSignedIn('del6', bcl);
    const page = await deletePage(browser, 'del6');
    const csrf = page.$('#gh-delete-form input[name="csrf"]').attr('value')!;
    const statuses = (await Promise.all([1, 2, 3, 4].map(() => post(browser, 'del6', { csrf, confirm: 'alice' })))).map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    for (const status of statuses.filter((each) => each !== 200)) expect([303, 404]).toContain(status);
    expect(await gh.app.users.findById('del6', seeded.userId)).toBeNull();
    expect(await gh.app.audit.list('del6', { type: 'user.deleted', limit: 5 })).toHaveLength(1);
  });
});
