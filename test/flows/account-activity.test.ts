import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountAuditEvents } from '../../src/domain/audit.js';
import { Browser, expectPage } from '../helpers/browser.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';

/**
 * "Recent activity" in the account console (issue 14: the account's recent security events): every
 * finished sign-in and every wrong password for a real account is in the audit trail, and the
 * owner sees their own, newest first, escaped, and nobody else's.
 */
let gh: TestGatehouse;

beforeAll(async () => {
  gh = await startGatehouse();
});
afterAll(() => gh.stop());

async function consoleSignIn(browser: Browser, tenant: string, username = 'alice') {
  const login = expectPage(await browser.navigate(`/t/${tenant}/account/login`));
  return expectPage(await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD }));
}

describe('recent activity', () => {
  it('records sign-ins through a relying party and wrong passwords, and shows them to their owner, newest first', async () => {
    const seeded = await seedTenant(gh, 'act1');
    const config = await relyingParty(gh, 'act1', seeded.client.clientId, seeded.client.clientSecret);
    // A wrong password for alice, then a sign-in through Web App, then one to the console.
    const wrong = new Browser(gh.origin);
    const login = expectPage(await wrong.navigate(`/t/act1/account/login`));
    const hostile = { headers: { 'user-agent': 'Guesser/1.0 <script>alert(1)</script>' } };
    const refused = expectPage(await wrong.submit(login, 'form[action$="/password"]', { username: 'alice', password: 'not the password' }, undefined, hostile));
    expect(refused.status).toBe(401);
    await authorize(new Browser(gh.origin), config, { redirectUri: seeded.client.redirectUri });
    const browser = new Browser(gh.origin);
    const account = await consoleSignIn(browser, 'act1');
    expect(account.$('a[href$="/account/activity"]').length).toBe(1);
    await gh.app.background.idle(5000);

    const page = expectPage(await browser.navigate('/t/act1/account/activity'));
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const entries = page.$('#gh-activity li').toArray().map((li) => page.$(li).text().replace(/\s+/g, ' ').trim());
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatch(/^Signed in .* through the account console, with password, from 127\.0\.0\.1/);
    expect(entries[1]).toMatch(/^Signed in .* through Web App, with password, from 127\.0\.0\.1 node/);
    expect(entries[2]).toMatch(/^Wrong password entered .* from 127\.0\.0\.1 Guesser\/1\.0/);
    // The hostile user agent is shown as text, never as markup.
    expect(entries[2]).toContain('<script>alert(1)</script>');
    expect(page.$('#gh-activity script').length).toBe(0);
    expect(page.$('#gh-activity li.gh-list-alert').length).toBe(1);

    const stored = await gh.app.audit.listForAccount('act1', seeded.userId, 10);
    expect(stored.map((event) => event.type)).toEqual([accountAuditEvents.signedIn, accountAuditEvents.signedIn, accountAuditEvents.signInFailed]);
    expect(stored[1]!.details).toMatchObject({ client_id: 'web-app', amr: ['pwd'], acr: 'https://refeds.org/profile/sfa', ip: '127.0.0.1' });
    expect(JSON.stringify(stored)).not.toContain(TEST_PASSWORD);
    expect(JSON.stringify(stored)).not.toContain('not the password');
  });

  it('records nothing against an account for an unknown identifier or a disabled account', async () => {
    const seeded = await seedTenant(gh, 'act2');
    const browser = new Browser(gh.origin);
    for (const username of ['nobody', 'alice@example.org']) {
      const login = expectPage(await browser.navigate('/t/act2/account/login'));
      expect(expectPage(await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD })).status).toBe(401);
    }
    await gh.app.users.setDisabled('act2', seeded.userId, true);
    const login = expectPage(await browser.navigate('/t/act2/account/login'));
    expect(expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: 'wrong' })).status).toBe(401);
    await gh.app.background.idle(5000);
    expect(await gh.app.audit.list('act2', { limit: 50 })).toEqual([]);
  });

  it('shows only the signed-in user’s own events, and asks a signed-out visitor to sign in first', async () => {
    const seeded = await seedTenant(gh, 'act3');
    await gh.app.users.create('act3', { username: 'bob', email: 'bob@example.com', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    const alice = new Browser(gh.origin);
    await consoleSignIn(alice, 'act3');
    const wrong = new Browser(gh.origin);
    const login = expectPage(await wrong.navigate('/t/act3/account/login'));
    await wrong.submit(login, 'form[action$="/password"]', { username: 'alice', password: 'wrong' });
    await gh.app.background.idle(5000);

    const bob = new Browser(gh.origin);
    await consoleSignIn(bob, 'act3', 'bob');
    const page = expectPage(await bob.navigate('/t/act3/account/activity'));
    expect(page.$('#gh-activity li').length).toBe(1);
    expect(page.$('#gh-activity li').text()).toContain('Signed in');
    expect(page.$('main').text()).not.toContain('Wrong password');
    expect((await gh.app.audit.listForAccount('act3', seeded.userId, 10)).length).toBe(2);

    // Signed out: to the sign-in, which comes back to the page.
    const visitor = new Browser(gh.origin);
    const away = await visitor.request('/t/act3/account/activity');
    expect(away.status).toBe(302);
    expect(away.headers.get('location')).toMatch(/\/t\/act3\/account\/login\?next=activity$/);
    const back = await consoleSignInFrom(visitor, '/t/act3/account/login?next=activity');
    expect(back.url).toBe(`${gh.issuer('act3')}/account/activity`);
    expect(back.$('#gh-activity li').length).toBe(3);
  });
});

async function consoleSignInFrom(browser: Browser, path: string) {
  const login = expectPage(await browser.navigate(path));
  return expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
}
