import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { authorize, relyingParty } from '../helpers/login.js';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { consoleSteps } from '../helpers/account-console.js';
import { mailingSuite } from '../helpers/email-gatehouse.js';
import { codeIn, linkIn } from '../helpers/mail-server.js';
import { adminToken, BOOTSTRAP, call } from '../admin/helpers.js';

const suite = mailingSuite({ bootstrap: BOOTSTRAP });
const steps = consoleSteps(() => suite.gh);

/** A signed-in console of a new tenant whose alice has an unverified address of her own. */
async function unverified(tenant: string): Promise<{ browser: Browser; userId: string; address: string; account: Page }> {
  const { browser, userId } = await steps.signIn(tenant);
  const address = `alice@${tenant}.test`;
  await suite.gh.app.users.update(tenant, userId, { email: address, emailVerified: false });
  const account = expectPage(await browser.navigate(`/t/${tenant}/account`));
  return { browser, userId, address, account };
}

async function askForVerification(tenant: string) {
  const signedIn = await unverified(tenant);
  const page = expectPage(await signedIn.browser.submit(signedIn.account, 'form[action$="/account/email/verify"]'));
  expect(page.status).toBe(200);
  const received = await suite.mail.next((candidate) => candidate.to.includes(signedIn.address));
  return { ...signedIn, page, received, link: linkIn(received.text, `${suite.gh.issuer(tenant)}/account/email/confirm?token=`), code: codeIn(received.text) };
}

const verified = async (tenant: string, userId: string) => (await suite.gh.app.users.findById(tenant, userId))?.emailVerified;

describe('verifying the current address', () => {
  it('mails a link under the tenant’s issuer and a code, in the tenant’s name; GETs of the link (a mail scanner) use nothing; the POST verifies once', async () => {
    const { userId, received, link, page } = await askForVerification('ev-link');
    expect(page.$('main').text()).toContain('alice@ev-link.test');
    expect(received.fromName).toBe('Tenant ev-link');
    expect(received.subject).toBe('Confirm your e-mail address for Tenant ev-link');
    expect(received.html).toContain(`href="${link.replaceAll('&', '&amp;')}"`);

    // A scanner opens the link twice, with no cookies: a confirm page, nothing used.
    const scanner = new Browser(suite.gh.origin);
    for (let i = 0; i < 2; i++) {
      const scanned = expectPage(await scanner.navigate(link));
      expect(scanned.status).toBe(200);
      expect(scanned.$('button[type="submit"]').text()).toContain('Confirm my e-mail address');
    }
    expect(await verified('ev-link', userId)).toBe(false);

    // The user, on another device without a console session, presses the button.
    const phone = new Browser(suite.gh.origin);
    const confirm = expectPage(await phone.navigate(link));
    const done = expectPage(await phone.submit(confirm, 'form[action$="/email/confirm"]'));
    expect(done.status).toBe(200);
    expect(done.$('main').text()).toContain('your e-mail address is confirmed');
    expect(await verified('ev-link', userId)).toBe(true);
    expect(await suite.gh.app.audit.list('ev-link', { type: 'user.email_verified', limit: 5 })).toHaveLength(1);

    // Used: the link's page and its POST both refuse now, and so does the code.
    expect(expectPage(await phone.navigate(link)).status).toBe(400);
    expect(expectPage(await phone.submit(confirm, 'form[action$="/email/confirm"]')).status).toBe(400);
  });

  it('the code typed into the console verifies, and then the link is dead too', async () => {
    const { browser, userId, page, code, link } = await askForVerification('ev-code');
    const done = expectPage(await browser.submit(page, 'form[action$="/email/code"]', { code }));
    expect(done.$('main').text()).toContain('your e-mail address is confirmed');
    expect(await verified('ev-code', userId)).toBe(true);
    expect(expectPage(await new Browser(suite.gh.origin).navigate(link)).status).toBe(400);
    // The email_verified claim follows.
    const rp = await relyingParty(suite.gh, 'ev-code', 'spa');
    const signIn = await authorize(new Browser(suite.gh.origin), rp, { redirectUri: 'http://127.0.0.1:9/callback' });
    const tokens = await client.authorizationCodeGrant(rp, signIn.callback, { pkceCodeVerifier: signIn.verifier, expectedState: signIn.state });
    expect(await client.fetchUserInfo(rp, tokens.access_token, userId)).toMatchObject({ email: 'alice@ev-code.test', email_verified: true });
  });

  it('refuses tampered, truncated, oversized and other-tenant links', async () => {
    const { userId, link } = await askForVerification('ev-tamper');
    const token = new URL(link).searchParams.get('token')!;
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    const scanner = new Browser(suite.gh.origin);
    for (const bad of [flipped, token.slice(0, 20), `${token}x`, 'x'.repeat(5000), '', '../../etc']) {
      expect(expectPage(await scanner.navigate(`${suite.gh.issuer('ev-tamper')}/account/email/confirm?token=${encodeURIComponent(bad)}`)).status).toBe(400);
    }
    const other = await unverified('ev-other');
    expect(other.userId).toBeDefined();
    expect(expectPage(await scanner.navigate(`${suite.gh.issuer('ev-other')}/account/email/confirm?token=${token}`)).status).toBe(400);
    // A forged POST without the page's CSRF token, or from another site, uses nothing.
    const forged = await scanner.request(`${suite.gh.issuer('ev-tamper')}/account/email/confirm`, { form: { token }, headers: { origin: suite.gh.origin } });
    expect(forged.status).toBe(403);
    const page = expectPage(await scanner.navigate(link));
    const crossSite = await scanner.submit(page, 'form[action$="/email/confirm"]', {}, undefined, { headers: { origin: 'https://evil.example' } });
    expect(expectPage(crossSite).status).toBe(403);
    expect(await verified('ev-tamper', userId)).toBe(false);
    // The real link still works after all that.
    expect(expectPage(await scanner.submit(page, 'form[action$="/email/confirm"]')).status).toBe(200);
    expect(await verified('ev-tamper', userId)).toBe(true);
  });

  it('a link expires after 30 minutes (the app clock)', async () => {
    const { userId, link } = await askForVerification('ev-expiry');
    const scanner = new Browser(suite.gh.origin);
    const page = expectPage(await scanner.navigate(link));
    suite.offset += 31 * 60 * 1000;
    expect(expectPage(await scanner.submit(page, 'form[action$="/email/confirm"]')).status).toBe(400);
    expect(await verified('ev-expiry', userId)).toBe(false);
  });

  it('twenty parallel wrong codes: at most five are judged, then the code (and its link) are dead, the right code too', async () => {
    const { browser, userId, page, code, link } = await askForVerification('ev-guess');
    const wrong = code === '000000' ? '111111' : '000000';
    const answers = await Promise.all(Array.from({ length: 20 }, () => browser.submit(page, 'form[action$="/email/code"]', { code: wrong })));
    const judged = answers.map(expectPage).filter((answer) => answer.$('main').text().includes('That code is not valid'));
    expect(judged.length).toBeLessThanOrEqual(5);
    expect(answers.map(expectPage).every((answer) => answer.status === 400 || answer.status === 429)).toBe(true);
    const late = expectPage(await browser.submit(page, 'form[action$="/email/code"]', { code }));
    expect(late.status).toBeGreaterThanOrEqual(400);
    expect(expectPage(await new Browser(suite.gh.origin).navigate(link)).status).toBe(400);
    expect(await verified('ev-guess', userId)).toBe(false);
  });

  it('sending is limited per address and account: of fifteen parallel requests at most three mail', async () => {
    const { browser, account, address } = await unverified('ev-flood');
    const answers = await Promise.all(Array.from({ length: 15 }, () => browser.submit(account, 'form[action$="/account/email/verify"]')));
    const statuses = answers.map((answer) => expectPage(answer).status);
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(12);
    await suite.gh.app.background.idle(5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(suite.mail.to(address).length).toBeLessThanOrEqual(3);
  });

  it('a form without its CSRF token, or posted from another site, sends nothing', async () => {
    const { browser, account, address } = await unverified('ev-csrf');
    expect((await browser.request(`/t/ev-csrf/account/email/verify`, { form: {}, headers: { origin: suite.gh.origin } })).status).toBe(403);
    expect(expectPage(await browser.submit(account, 'form[action$="/account/email/verify"]', {}, undefined, { headers: { origin: 'https://evil.example' } })).status).toBe(403);
    expect(suite.mail.to(address)).toHaveLength(0);
  });
});

describe('changing the address', () => {
  it('verifies the new address before it replaces the old one, and tells the old address', async () => {
    const { browser, userId, account, address: old } = await unverified('ec-change');
    const sent = expectPage(await browser.submit(account, 'form[action$="/account/email/change"]', { new_email: '  Alice.New@Example.COM ' }));
    expect(sent.status).toBe(200);
    const received = await suite.mail.next((candidate) => candidate.to.includes('alice.new@example.com'));
    // Nothing changed yet.
    expect((await suite.gh.app.users.findById('ec-change', userId))?.email).toBe(old);
    const done = expectPage(await browser.submit(sent, 'form[action$="/email/code"]', { code: codeIn(received.text) }));
    expect(done.$('main').text()).toContain('now replaces the old one');
    const user = await suite.gh.app.users.findById('ec-change', userId);
    expect(user).toMatchObject({ email: 'alice.new@example.com', emailVerified: true });
    const notice = await suite.mail.next((candidate) => candidate.to.includes(old));
    expect(notice.subject).toContain('e-mail address of your Tenant ec-change account was changed');
    expect(notice.text).toContain('a••••••••@example.com');
    expect(notice.text).not.toContain('alice.new@example.com');
    const [event] = await suite.gh.app.audit.list('ec-change', { type: 'user.email_changed', limit: 5 });
    expect(event?.details).toMatchObject({ to: 'a••••••••@example.com' });
  });

  it.each([
    ['a header injection', 'new@example.com\r\nBcc: eve@evil.test', 'ec-bad1'],
    ['two addresses', 'new@example.com,eve@evil.test', 'ec-bad2'],
    ['a display name', 'New <new@example.com>', 'ec-bad3'],
    ['an oversized address', `${'a'.repeat(300)}@example.com`, 'ec-bad4'],
    ['the current address', 'ALICE@ec-bad5.test', 'ec-bad5'],
  ])('refuses %s, mailing nothing', async (_case, value, tenant) => {
    const { browser, account } = await unverified(tenant);
    const before = suite.mail.mails.length;
    expect(expectPage(await browser.submit(account, 'form[action$="/account/email/change"]', { new_email: value })).status).toBe(400);
    expect(suite.mail.mails.length).toBe(before);
  });

  it('a new address another account took meanwhile is not given to this one', async () => {
    const { browser, userId, account, address } = await unverified('ec-taken');
    const sent = expectPage(await browser.submit(account, 'form[action$="/account/email/change"]', { new_email: 'shared@example.com' }));
    const received = await suite.mail.next((candidate) => candidate.to.includes('shared@example.com') && candidate.subject.includes('ec-taken'));
    await suite.gh.app.users.create('ec-taken', { username: 'bob', email: 'shared@example.com' });
    const done = expectPage(await browser.submit(sent, 'form[action$="/email/code"]', { code: codeIn(received.text) }));
    expect(done.status).toBe(409);
    expect((await suite.gh.app.users.findById('ec-taken', userId))?.email).toBe(address);
  });
});

describe('a tenant’s own wording', () => {
  it('set through the admin API, is what the verification mail says, with the user’s name escaped in HTML', async () => {
    const { browser, userId, account, address } = await unverified('ev-template');
    await suite.gh.app.users.update('ev-template', userId, { givenName: '<b>Ali</b>' });
    const token = await adminToken(suite.gh);
    const put = await call(suite.gh, token, 'PUT', '/tenants/ev-template/email-templates/verify_email', {
      subject: 'Bitte bestätigen: <%= tenant_name %>',
      text: 'Hallo <%= user_name %>! Link: <%= link %> Code: <%= code %>',
      html: '<p>Hallo <%= user_name %>!</p><p><a href="<%= link %>">Bestätigen</a> <%= code %></p>',
    });
    expect(put.status).toBe(200);
    expectPage(await browser.submit(account, 'form[action$="/account/email/verify"]'));
    const received = await suite.mail.next((candidate) => candidate.to.includes(address));
    expect(received.subject).toBe('Bitte bestätigen: Tenant ev-template');
    expect(received.text).toContain('Hallo <b>Ali</b>!');
    expect(received.html).toContain('Hallo &lt;b&gt;Ali&lt;/b&gt;!');
    expect(received.html).not.toContain('<b>Ali</b>');
    expect(linkIn(received.text, `${suite.gh.issuer('ev-template')}/account/email/confirm?token=`)).toBeTruthy();
    // The tenant's record through the admin API is unaffected by its templates.
    expect((await call(suite.gh, token, 'GET', '/tenants/ev-template')).status).toBe(200);
  });
});
