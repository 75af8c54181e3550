/**
 * Limits on SENDING texts (SMS pumping, issue 10), through the login's SMS step over real HTTP with
 * parallel presses of the send button: per phone number (5 in a row), per account (10), per client
 * address (20). Each limit has a tenant of its own here, so the others stay out of its way: every
 * test's browser comes from 127.0.0.1, and the phones are enrolled from addresses of their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smsSendPolicies } from '../../src/authn/sms-send-limits.js';
import { adminToken, call } from '../admin/helpers.js';
import { expectPage, type Page } from '../helpers/browser.js';
import { seedTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { relyingParty } from '../helpers/login.js';
import { addPhone, afterPassword, sendCode, smsGateway, startSmsGatehouse, userWithPhone, type SmsGateway } from '../helpers/sms.js';

let gh: TestGatehouse;
let gateway: SmsGateway;
let root: string;

beforeAll(async () => {
  gateway = await smsGateway();
  gh = await startSmsGatehouse(gateway, Date.now);
  root = await adminToken(gh);
});
afterAll(async () => {
  await gh.stop();
  await gateway.close();
});

const phone = (block: number, n: number) => `+336${String(block).padStart(2, '0')}3456${String(n).padStart(2, '0')}`;

/** A tenant with a relying party that skips consent. */
async function tenant(id: string) {
  const seeded = await seedTenant(gh, id);
  expect((await call(gh, root, 'PATCH', `/tenants/${id}/clients/web-app`, { first_party: true })).status).toBe(200);
  return { seeded, rp: await relyingParty(gh, id, seeded.client.clientId, seeded.client.clientSecret) };
}

interface Login {
  browser: Awaited<ReturnType<typeof afterPassword>>['browser'];
  page: Page;
  factorId?: string;
}

/**
 * Presses the send button of every login at once, then again one login at a time (a refused press
 * gives the login's cooldown back) until one is refused: answers how many texts went out, and the
 * refusal that ended it.
 */
async function sendUntilRefused(logins: Login[], redirectUri: string) {
  const burst = await Promise.all(logins.map((login) => sendCode(login.browser, login.page, redirectUri, login.factorId).then(expectPage)));
  let sent = burst.filter((page) => page.status === 200).length;
  const pending = logins.filter((_, index) => burst[index]!.status !== 200);
  for (const login of pending) {
    const page = expectPage(await sendCode(login.browser, login.page, redirectUri, login.factorId));
    if (page.status !== 200) return { burstSent: burst.filter((result) => result.status === 200).length, sent, refusal: page };
    sent += 1;
  }
  throw new Error(`no refusal after ${sent} texts`);
}

/** Seconds a refusal asks to wait: a full bucket waits about one unit's drain time. */
const retryAfterOf = (page: Page) => Number(page.headers.get('retry-after'));

describe('sending limits', () => {
  it('per phone number: 5 texts (the enrolment’s included), the 6th is refused for about 12 minutes', async () => {
    const { seeded, rp } = await tenant('lim-phone');
    const number = phone(1, 1);
    const { username } = await userWithPhone(gh, gateway, 'lim-phone', number);
    const logins = await Promise.all(Array.from({ length: 8 }, () => afterPassword(gh, rp, seeded.client.redirectUri, username)));
    const { burstSent, sent, refusal } = await sendUntilRefused(logins, seeded.client.redirectUri);
    expect(burstSent).toBeLessThanOrEqual(smsSendPolicies.phone.cap - 1);
    expect(sent).toBe(smsSendPolicies.phone.cap - 1);
    expect(gateway.to(number).length).toBe(smsSendPolicies.phone.cap);
    expect(refusal.status).toBe(429);
    expect(refusal.$('[role="alert"]').text()).toContain('Too many text messages');
    expect(retryAfterOf(refusal)).toBeGreaterThan(smsSendPolicies.account.drainSeconds);
    expect(retryAfterOf(refusal)).toBeLessThanOrEqual(smsSendPolicies.phone.drainSeconds);
  });

  it('per account: 10 texts whichever of its phones, the 11th is refused', async () => {
    const { seeded, rp } = await tenant('lim-account');
    const numbers = [phone(2, 1), phone(2, 2), phone(2, 3)];
    const { username, userId, factorId } = await userWithPhone(gh, gateway, 'lim-account', numbers[0]!);
    const factors = [factorId, await addPhone(gh, gateway, 'lim-account', userId, numbers[1]!), await addPhone(gh, gateway, 'lim-account', userId, numbers[2]!)];
    // 3 enrolment texts so far; 7 more fit, at most 3 more per phone (each phone stays under its 5).
    const logins = await Promise.all(Array.from({ length: 9 }, async (_, index) => ({ ...(await afterPassword(gh, rp, seeded.client.redirectUri, username)), factorId: factors[index % 3]! })));
    const { burstSent, sent, refusal } = await sendUntilRefused(logins, seeded.client.redirectUri);
    expect(burstSent).toBeLessThanOrEqual(7);
    expect(sent).toBe(7);
    expect(numbers.map((number) => gateway.to(number).length).reduce((a, b) => a + b)).toBe(smsSendPolicies.account.cap);
    expect(numbers.every((number) => gateway.to(number).length < smsSendPolicies.phone.cap)).toBe(true);
    expect(refusal.status).toBe(429);
    expect(retryAfterOf(refusal)).toBeGreaterThan(smsSendPolicies.address.drainSeconds);
    expect(retryAfterOf(refusal)).toBeLessThanOrEqual(smsSendPolicies.account.drainSeconds);
  });

  it('per client address: 20 texts whichever accounts, the 21st is refused', async () => {
    const { seeded, rp } = await tenant('lim-address');
    const users = await Promise.all(Array.from({ length: 6 }, (_, index) => userWithPhone(gh, gateway, 'lim-address', phone(3, index + 1))));
    // Six accounts with a phone each, four logins each: 24 presses, none past its phone's or account's limit.
    const logins: Login[] = [];
    for (const user of users) logins.push(...(await Promise.all(Array.from({ length: 4 }, () => afterPassword(gh, rp, seeded.client.redirectUri, user.username)))));
    const { burstSent, sent, refusal } = await sendUntilRefused(logins, seeded.client.redirectUri);
    expect(burstSent).toBeLessThanOrEqual(smsSendPolicies.address.cap);
    expect(sent).toBe(smsSendPolicies.address.cap);
    expect(refusal.status).toBe(429);
    expect(retryAfterOf(refusal)).toBeGreaterThan(1);
    expect(retryAfterOf(refusal)).toBeLessThanOrEqual(smsSendPolicies.address.drainSeconds);
  });
});
