import type * as client from 'openid-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { POW_DIFFICULTY } from '../../src/domain/proof-of-work-settings.js';
import { adminToken, call } from '../admin/helpers.js';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { seedTenant, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { relyingParty } from '../helpers/login.js';
import { solvedChallenge, widgetChallengeUrl } from '../helpers/proof-of-work.js';
import { afterPassword, sendCode, smsGateway, startSmsGatehouse, userWithPhone, type SmsGateway } from '../helpers/sms.js';

/**
 * Proof of work before a code is texted (`security_policy.proof_of_work.sms`): at the sign-in's SMS
 * step and when adding a phone in the account console. Without a valid, unused solution the form
 * gets 400 and nothing is texted or counted; with one it texts as before. Off, nothing changes.
 */
let gh: TestGatehouse;
let gateway: SmsGateway;
let root: string;
let offset = 0;
const gb = (n: number) => `+4474009876${String(n).padStart(2, '0')}`;

beforeAll(async () => {
  gateway = await smsGateway();
  gh = await startSmsGatehouse(gateway, () => Date.now() + offset);
  root = await adminToken(gh);
});
afterEach(() => {
  offset = 0;
});
afterAll(async () => {
  await gh.stop();
  await gateway.close();
});

/** A tenant with the given proof-of-work settings and a relying party of its web app. */
async function tenantWith(id: string, proofOfWork: Record<string, unknown> | null): Promise<{ rp: client.Configuration; redirectUri: string }> {
  const seeded = await seedTenant(gh, id);
  const changed = await call(gh, root, 'PATCH', `/tenants/${id}`, { security_policy: { proof_of_work: proofOfWork } });
  expect(changed.status, JSON.stringify(changed.body)).toBe(200);
  return { rp: await relyingParty(gh, id, seeded.client.clientId, seeded.client.clientSecret), redirectUri: seeded.client.redirectUri };
}

const sms = (tenant: string) => `/t/${tenant}/proof-of-work/sms`;

describe('proof of work before a sign-in code is texted', () => {
  it('puts a widget in every send form, refuses a send without a valid solution (400, nothing texted or counted), texts with one', async () => {
    // The sign-in check is on too, so a sign-in challenge exists to be refused here (another form's).
    const { rp, redirectUri } = await tenantWith('pow-sms', { sms: true, sign_in_after_failures: 5, difficulty: POW_DIFFICULTY.min });
    const phone = gb(1);
    const { username } = await userWithPhone(gh, gateway, 'pow-sms', phone);
    const { browser, page } = await afterPassword(gh, rp, redirectUri, username);
    expect(page.$('form:has(input[name="intent"]) altcha-widget').attr('challenge')).toBe(sms('pow-sms'));
    // Several phones share a page: each widget solves only when its own button is pressed.
    expect(page.$('altcha-widget').attr('data-pow-auto')).toBe('onsubmit');
    const before = gateway.to(phone).length;

    const missing = expectPage(await sendCode(browser, page, redirectUri));
    expect(missing.status).toBe(400);
    expect(missing.$('[role="alert"]').text()).toContain('Please wait while your browser checks');
    expect(widgetChallengeUrl(missing)).toBe(sms('pow-sms'));
    for (const bad of ['garbage', Buffer.from('{"challenge":null,"solution":null,"test":true}').toString('base64'), await solvedChallenge(gh.origin, '/t/pow-sms/proof-of-work/sign-in')]) {
      const refused = expectPage(await browser.submit(page, 'form:has(input[name="intent"])', { altcha: bad }, redirectUri));
      expect(refused.status).toBe(400);
    }
    expect(gateway.to(phone).length).toBe(before);

    // A real solution texts at once: the refused sends started no cooldown and spent no send budget.
    const solution = await solvedChallenge(gh.origin, sms('pow-sms'));
    const sent = expectPage(await browser.submit(page, 'form:has(input[name="intent"])', { altcha: solution }, redirectUri));
    expect(sent.status).toBe(200);
    expect(sent.$('h1').text()).toContain('Enter the code we texted you');
    expect(gateway.to(phone).length).toBe(before + 1);

    // The same solution again, after the cooldown: refused, nothing texted.
    offset += 31_000;
    const replayed = expectPage(await browser.submit(sent, 'form:has(input[name="intent"])', { altcha: solution }, redirectUri));
    expect(replayed.status).toBe(400);
    expect(replayed.$('main').text()).toContain('The check did not complete; try again.');
    expect(gateway.to(phone).length).toBe(before + 1);
  });

  it('lets one of eight parallel sends with one solution through', async () => {
    const { rp, redirectUri } = await tenantWith('pow-sms-burst', { sms: true, difficulty: POW_DIFFICULTY.min });
    const phone = gb(2);
    const { username } = await userWithPhone(gh, gateway, 'pow-sms-burst', phone);
    const { browser, page } = await afterPassword(gh, rp, redirectUri, username);
    const before = gateway.to(phone).length;
    const solution = await solvedChallenge(gh.origin, sms('pow-sms-burst'));
    const results = await Promise.all(Array.from({ length: 8 }, () => browser.submit(page, 'form:has(input[name="intent"])', { altcha: solution }, redirectUri)));
    const statuses = results.map((result) => expectPage(result).status).sort();
    expect(statuses).toEqual([200, 400, 400, 400, 400, 400, 400, 400]);
    expect(gateway.to(phone).length).toBe(before + 1);
  });

  it('asks nothing where SMS is off, even with the sign-in check on', async () => {
    const { rp, redirectUri } = await tenantWith('pow-sms-off', { sign_in_after_failures: 3 });
    const phone = gb(3);
    const { username } = await userWithPhone(gh, gateway, 'pow-sms-off', phone);
    const { browser, page } = await afterPassword(gh, rp, redirectUri, username);
    expect(page.$('altcha-widget').length).toBe(0);
    expect((await fetch(`${gh.origin}${sms('pow-sms-off')}`)).status).toBe(404);
    const before = gateway.to(phone).length;
    expect(expectPage(await sendCode(browser, page, redirectUri)).status).toBe(200);
    expect(gateway.to(phone).length).toBe(before + 1);
  });
});

describe('proof of work before the console texts a code to a new phone', () => {
  async function security(tenantId: string): Promise<{ browser: Browser; page: Page }> {
    await tenantWith(tenantId, { sms: true, difficulty: POW_DIFFICULTY.min });
    const browser = new Browser(gh.origin);
    const login = expectPage(await browser.navigate(`/t/${tenantId}/account/login`));
    expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    return { browser, page: expectPage(await browser.navigate(`/t/${tenantId}/account/security`)) };
  }

  it('refuses adding a phone and resending its code without a valid solution, and texts with one', async () => {
    const { browser, page } = await security('pow-console');
    expect(page.$('form[action$="/security/sms"] altcha-widget').attr('challenge')).toBe(sms('pow-console'));
    const phone = gb(4);
    const count = gateway.texts.length;

    const missing = expectPage(await browser.submit(page, 'form[action$="/security/sms"]', { phone }));
    expect(missing.status).toBe(400);
    expect(missing.$('[role="alert"]').text()).toContain('Please wait while your browser checks');
    const tampered = expectPage(await browser.submit(page, 'form[action$="/security/sms"]', { phone, altcha: Buffer.from('{"challenge":{},"solution":{}}').toString('base64') }));
    expect(tampered.status).toBe(400);
    expect(gateway.texts.length).toBe(count);

    const enrol = expectPage(await browser.submit(page, 'form[action$="/security/sms"]', { phone, altcha: await solvedChallenge(gh.origin, sms('pow-console')) }));
    expect(enrol.status).toBe(200);
    expect(gateway.to(phone)).toHaveLength(1);
    expect(enrol.$('form[action$="/security/sms/resend"] altcha-widget').attr('challenge')).toBe(sms('pow-console'));

    offset += 31_000;
    const resendMissing = expectPage(await browser.submit(enrol, 'form[action$="/security/sms/resend"]'));
    expect(resendMissing.status).toBe(400);
    expect(resendMissing.$('main').text()).toContain('Please wait while your browser checks');
    expect(gateway.to(phone)).toHaveLength(1);
    const resent = expectPage(await browser.submit(enrol, 'form[action$="/security/sms/resend"]', { altcha: await solvedChallenge(gh.origin, sms('pow-console')) }));
    expect(resent.status).toBe(200);
    expect(gateway.to(phone)).toHaveLength(2);
  });
});
