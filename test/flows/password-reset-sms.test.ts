import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage } from '../helpers/browser.js';
import { startMailingGatehouse } from '../helpers/email-gatehouse.js';
import { seedTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { linkIn, startMailServer, type MailServer } from '../helpers/mail-server.js';
import { OPERATOR_SECRET, smsGateway, userWithPhone, type SmsGateway } from '../helpers/sms.js';

/** Mail to the test's SMTP server and texts to its signed gateway, in one Gatehouse. */
const servers: { gh?: TestGatehouse; mail?: MailServer; gateway?: SmsGateway } = {};

beforeAll(async () => {
  const [mail, gateway] = await Promise.all([startMailServer(), smsGateway()]);
  Object.assign(servers, { mail, gateway });
  servers.gh = await startMailingGatehouse(mail, undefined, { http: { allowPrivateNetworkFetch: true }, messaging: { sms: { sender: 'webhook', webhook: { url: gateway.url, secret: OPERATOR_SECRET } } } });
  await seedTenant(servers.gh, 'acme');
});
afterAll(async () => {
  await servers.gh?.stop();
  await Promise.all([servers.mail?.close(), servers.gateway?.close()]);
});

describe('a reset for a user whose second factor is a phone', () => {
  it('asks for a texted code: without it, or with a wrong one, nothing changes; the texted code lets the new password in', async () => {
    const { gh, mail, gateway } = servers as Required<typeof servers>;
    const phone = '+447400123477';
    const { username, userId } = await userWithPhone(gh, gateway, 'acme', phone);
    await gh.app.users.update('acme', userId, { email: `${username}@example.com` });
    const browser = new Browser(gh.origin);
    const ask = expectPage(await browser.navigate('/t/acme/account/password-reset'));
    expectPage(await browser.submit(ask, 'form[action$="/password-reset"]', { identifier: username }));
    await gh.app.background.idle(5000);
    const received = await mail.next((candidate) => candidate.to.includes(`${username}@example.com`));
    const form = expectPage(await browser.navigate(linkIn(received.text, `${gh.issuer('acme')}/account/password-reset/confirm?token=`)));
    const password = 'a passphrase after a text';
    const fields = { new_password: password, confirm_password: password };

    expect(expectPage(await browser.submit(form, 'form[action$="/password-reset/confirm"]', { ...fields, code: '' })).status).toBe(401);
    const textsBefore = gateway.to(phone).length;
    const texted = expectPage(await browser.submit(form, 'form[action$="/password-reset/text"]'));
    expect(texted.$('[role="status"]').text()).toContain('We texted a code to +44');
    expect(texted.$('[role="status"]').text()).not.toContain('400123');
    expect(gateway.to(phone).length).toBe(textsBefore + 1);
    const code = gateway.lastCode(phone);
    const wrong = code === '000000' ? '111111' : '000000';
    expect(expectPage(await browser.submit(texted, 'form[action$="/password-reset/confirm"]', { ...fields, code: wrong })).status).toBe(401);
    const before = (await gh.app.users.findById('acme', userId))?.passwordHash;
    expect(before).toBeTruthy();

    // A second press within the cooldown texts nothing more.
    expect(expectPage(await browser.submit(texted, 'form[action$="/password-reset/text"]')).status).toBe(429);
    expect(gateway.to(phone).length).toBe(textsBefore + 1);

    const done = expectPage(await browser.submit(texted, 'form[action$="/password-reset/confirm"]', { ...fields, code }));
    expect(done.status).toBe(200);
    expect((await gh.app.users.findById('acme', userId))?.passwordHash).not.toBe(before);
    expect((await gh.app.passwords.verify((await gh.app.users.findById('acme', userId))!.passwordHash, password)).ok).toBe(true);
  });

  it('a forged text request without the link’s CSRF token texts nothing', async () => {
    const { gh, gateway } = servers as Required<typeof servers>;
    const before = gateway.texts.length;
    const answer = await new Browser(gh.origin).request('/t/acme/account/password-reset/text', { form: { token: 'x'.repeat(43) }, headers: { origin: gh.origin } });
    expect(answer.status).toBe(403);
    expect(gateway.texts.length).toBe(before);
  });
});
