import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleSteps } from '../helpers/account-console.js';
import { expectPage } from '../helpers/browser.js';
import { startMailingGatehouse } from '../helpers/email-gatehouse.js';
import { TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { startMailServer, type MailServer } from '../helpers/mail-server.js';

let gh: TestGatehouse;
let mail: MailServer;
const { signIn, addAuthenticator, freshSignIn } = consoleSteps(() => gh);

beforeAll(async () => {
  mail = await startMailServer();
  gh = await startMailingGatehouse(mail);
});
afterAll(async () => {
  await gh?.stop();
  await mail?.close();
});

describe('the user is told by mail of a factor change', () => {
  it('adding an authenticator and replacing recovery codes each send a notice to the account’s address, naming the change, from the tenant', async () => {
    const { browser } = await signIn('notices');
    const { secret } = await addAuthenticator(browser, 'notices', 'Work phone');
    const added = await mail.next((candidate) => candidate.to.includes('alice@example.com') && /added/.test(candidate.text));
    expect(added.subject).toBe('A sign-in method of your Tenant notices account was changed');
    expect(added.text).toContain('was added: an authenticator app');
    expect(added.fromName).toBe('Tenant notices');

    const security = await freshSignIn(browser, 'notices', secret);
    expectPage(await browser.submit(security, 'form[action$="/security/recovery-codes"]'));
    const replaced = await mail.next((candidate) => candidate.to.includes('alice@example.com') && /replaced/.test(candidate.text));
    expect(replaced.text).toContain('was replaced: recovery codes');
    // Nothing else was sent: one notice per change.
    expect(mail.to('alice@example.com')).toHaveLength(2);
  });

  it('changing the password in the console sends the password notice', async () => {
    const { browser } = await signIn('notices-password');
    const page = expectPage(await browser.navigate('/t/notices-password/account/password'));
    const changed = expectPage(await browser.submit(page, 'form[action$="/account/password"]', { current_password: TEST_PASSWORD, new_password: 'an entirely new passphrase', confirm_password: 'an entirely new passphrase' }));
    expect(changed.status, changed.$('main').text()).toBe(200);
    const notice = await mail.next((candidate) => candidate.to.includes('alice@example.com') && /password/i.test(candidate.subject) && candidate.text.includes('notices-password'));
    expect(notice.subject).toMatch(/password/i);
  });
});

