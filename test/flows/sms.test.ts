/**
 * SMS one-time codes (issue 10) over real HTTP, texted through the `webhook` sender to a gateway
 * started here that checks every signature: adding a phone in the account console, signing in with
 * a texted code (amr `sms`), the code's binding to its login, its 10 minutes, its 5 tries, the
 * resend cooldown, hostile numbers, and the tenant's settings (countries, text, own webhook, off).
 */
import * as client from 'openid-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ACR } from '../../src/authn/assurance.js';
import { adminToken, call, startAdminGatehouse } from '../admin/helpers.js';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { seedTenant, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { relyingParty } from '../helpers/login.js';
import { totpCode } from '../helpers/totp.js';
import { afterPassword, sendCode, smsGateway, startSmsGatehouse, submitSmsCode, userWithPhone, type SmsGateway } from '../helpers/sms.js';

let gh: TestGatehouse;
let gateway: SmsGateway;
let acme: SeededTenant;
let rp: client.Configuration;
let root: string;
let offset = 0;

const gb = (n: number) => `+4474001234${String(n).padStart(2, '0')}`;
const fr = (n: number) => `+336123456${String(n).padStart(2, '0')}`;

beforeAll(async () => {
  gateway = await smsGateway();
  gh = await startSmsGatehouse(gateway, () => Date.now() + offset);
  acme = await seedTenant(gh, 'acme');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
  root = await adminToken(gh);
  expect((await call(gh, root, 'PATCH', '/tenants/acme/clients/web-app', { first_party: true })).status).toBe(200);
});
// Each test starts at the real time (the console's fresh sign-in is judged by the provider's clock).
afterEach(() => {
  offset = 0;
});
afterAll(async () => {
  await gh.stop();
  await gateway.close();
});

const redirectUri = () => acme.client.redirectUri;

/** Signs in with the password and has the code texted: the code page. */
async function codePage(username: string) {
  const login = await afterPassword(gh, rp, redirectUri(), username);
  const page = expectPage(await sendCode(login.browser, login.page, redirectUri()));
  return { ...login, page };
}

describe('signing in with a texted code', () => {
  it('texts nothing on GET; the POSTed button texts a code to the masked number; the code signs in with amr sms and acr multi-factor', async () => {
    const phone = gb(1);
    const { username, userId } = await userWithPhone(gh, gateway, 'acme', phone);
    const before = gateway.to(phone).length;
    const { browser, verifier, page } = await afterPassword(gh, rp, redirectUri(), username);
    expect(page.$('h1').text()).toContain('Get a code by text message');
    expect(page.$('main').text()).toContain('+44 •••• ••3401');
    expect(page.html).not.toContain('7400 123401');
    // Reloading the page (what a link scanner or a prefetch does) texts nothing.
    expectPage(await browser.navigate(page.url));
    expect(gateway.to(phone).length).toBe(before);

    const sent = expectPage(await sendCode(browser, page, redirectUri()));
    expect(sent.url).toMatch(/\/sms$/);
    expect(gateway.to(phone).length).toBe(before + 1);
    const text = gateway.to(phone).at(-1)!;
    expect(text).toMatchObject({ tenant: 'acme', purpose: 'sign-in', signedBy: 'operator' });
    expect(text.text).toMatch(/^\d{6} is your Tenant acme sign-in code\.$/);
    expect(sent.$('h1').text()).toContain('Enter the code we texted you');
    expect(sent.$('main').text()).toContain('+44 •••• ••3401');
    expect(sent.$('input[name="code"]').attr('autocomplete')).toBe('one-time-code');
    expect(sent.$('button[disabled]').text()).toMatch(/Resend .* in \d+ s/);

    const callback = expectRedirect(await submitSmsCode(browser, sent, gateway.lastCode(phone), redirectUri()));
    const tokens = await client.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 'st' });
    expect(tokens.claims()).toMatchObject({ sub: userId, acr: ACR.multiFactor, amr: ['pwd', 'sms', 'mfa'] });
    expect((await gh.app.mfa.factors.list('acme', userId))[0]?.lastUsedAt).toBeInstanceOf(Date);
  });

  it('a code is single use, and a code of another login transaction never verifies', async () => {
    const phone = gb(2);
    const { username } = await userWithPhone(gh, gateway, 'acme', phone);
    const first = await codePage(username);
    const codeOfFirst = gateway.lastCode(phone);
    const second = await codePage(username);
    const codeOfSecond = gateway.lastCode(phone);
    expect(codeOfSecond).not.toBe('');
    if (codeOfFirst !== codeOfSecond) {
      const crossed = expectPage(await submitSmsCode(second.browser, second.page, codeOfFirst, redirectUri()));
      expect(crossed.status).toBe(401);
      expect(crossed.$('#code-error').text()).toContain('not valid');
    }
    expectRedirect(await submitSmsCode(first.browser, first.page, codeOfFirst, redirectUri()));
    // Used once: the same code again (in a login of its own) fails.
    const third = await codePage(username);
    expect(expectPage(await submitSmsCode(third.browser, third.page, codeOfFirst, redirectUri())).status).toBe(401);
    expectRedirect(await submitSmsCode(second.browser, second.page, codeOfSecond, redirectUri()));
  });

  it('a code expires after 10 minutes (the app clock)', async () => {
    const phone = gb(3);
    const { username } = await userWithPhone(gh, gateway, 'acme', phone);
    const { browser, page } = await codePage(username);
    const code = gateway.lastCode(phone);
    offset += 10 * 60 * 1000 + 1000;
    const late = expectPage(await submitSmsCode(browser, page, code, redirectUri()));
    expect(late.status).toBe(401);
  });

  it('a 6th try fails even with the right code: the code is burned after 5 wrong ones', async () => {
    const phone = gb(4);
    const { username } = await userWithPhone(gh, gateway, 'acme', phone);
    const { browser, page } = await codePage(username);
    const code = gateway.lastCode(phone);
    const wrong = code === '000000' ? '111111' : '000000';
    let current: Page = page;
    for (let i = 0; i < 5; i += 1) {
      current = expectPage(await submitSmsCode(browser, current, wrong, redirectUri()));
      expect(current.status, `try ${i + 1}: ${current.$("main").text().trim().slice(0, 200)}`).toBe(401);
    }
    // Past the MFA throttle's first delay (1 s after 5 failures), so the code itself is checked.
    offset += 2000;
    const burned = expectPage(await submitSmsCode(browser, current, code, redirectUri()));
    expect(burned.status).toBe(401);
  });

  it('parallel wrong tries are counted before they are checked: of 12 at once, the code is burned', async () => {
    const phone = gb(5);
    const { username, userId } = await userWithPhone(gh, gateway, 'acme', phone);
    const { page } = await codePage(username);
    const uid = new URL(page.url).pathname.split('/').at(-2)!;
    const code = gateway.lastCode(phone);
    const wrong = code === '000000' ? '111111' : '000000';
    const results = await Promise.all(Array.from({ length: 12 }, () => gh.app.mfa.sms.verifySignIn('acme', userId, uid, wrong)));
    expect(results.every((result) => !result.ok)).toBe(true);
    expect((await gh.app.mfa.sms.verifySignIn('acme', userId, uid, code)).ok).toBe(false);
  });

  it('resending waits for the cooldown (429, Retry-After); of 8 parallel presses one texts; afterwards only the new code works', async () => {
    const phone = gb(6);
    const { username } = await userWithPhone(gh, gateway, 'acme', phone);
    const { browser, page } = await afterPassword(gh, rp, redirectUri(), username);
    const before = gateway.to(phone).length;
    const presses = await Promise.all(Array.from({ length: 8 }, () => sendCode(browser, page, redirectUri())));
    expect(gateway.to(phone).length).toBe(before + 1);
    const refused = presses.map(expectPage).filter((result) => result.status === 429);
    expect(refused.length).toBe(7);
    const retryAfter = Number(refused[0]!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(refused[0]!.$('main').text()).toContain('sent a moment ago');
    const oldCode = gateway.lastCode(phone);

    offset += 31_000;
    const again = expectPage(await sendCode(browser, page, redirectUri()));
    expect(again.status).toBe(200);
    expect(gateway.to(phone).length).toBe(before + 2);
    const newCode = gateway.lastCode(phone);
    if (oldCode !== newCode) expect(expectPage(await submitSmsCode(browser, again, oldCode, redirectUri())).status).toBe(401);
    expectRedirect(await submitSmsCode(browser, again, newCode, redirectUri()));
  });

  it('refuses hostile input on the step: codes that cannot be codes, an oversized code, another user’s phone', async () => {
    const phone = gb(8);
    const { username } = await userWithPhone(gh, gateway, 'acme', phone);
    const other = await userWithPhone(gh, gateway, 'acme', gb(9));
    const { browser, page } = await afterPassword(gh, rp, redirectUri(), username);
    const before = gateway.texts.length;
    const foreign = expectPage(await browser.submit(page, 'form:has(input[name="intent"])', { factor: other.factorId }, redirectUri()));
    expect(foreign.status).toBe(400);
    expect(expectPage(await browser.submit(page, 'form:has(input[name="intent"])', { factor: 'x'.repeat(65) }, redirectUri())).status).toBe(400);
    expect(gateway.texts.length).toBe(before);
    const sent = expectPage(await sendCode(browser, page, redirectUri()));
    for (const code of ['abcdef', '12345', '1234567', '{"$ne":null}']) {
      expect(expectPage(await submitSmsCode(browser, sent, code, redirectUri())).status, code).toBe(401);
    }
    expect(expectPage(await submitSmsCode(browser, sent, '1'.repeat(65), redirectUri())).status).toBe(400);
    expectRedirect(await submitSmsCode(browser, sent, ` ${gateway.lastCode(phone).slice(0, 3)} ${gateway.lastCode(phone).slice(3)} `, redirectUri()));
  });

  it('a user with an authenticator app is asked for it first and may choose a text instead', async () => {
    const phone = gb(7);
    const { username, userId } = await userWithPhone(gh, gateway, 'acme', phone);
    const { enrollmentId, secret } = await gh.app.mfa.totp.startEnrollment('acme', userId);
    await gh.app.mfa.totp.confirmEnrollment('acme', userId, enrollmentId, totpCode(secret, -1));
    const { browser, verifier, page } = await afterPassword(gh, rp, redirectUri(), username);
    expect(page.$('h1').text()).toContain('Enter your code');
    const href = page.$('a[href$="/sms"]').attr('href');
    expect(href).toBeTruthy();
    const smsPage = expectPage(await browser.navigate(href!));
    expect(smsPage.$('h1').text()).toContain('Get a code by text message');
    expect(smsPage.$('a[href$="/totp"]').length).toBe(1);
    const sent = expectPage(await sendCode(browser, smsPage, redirectUri()));
    const callback = expectRedirect(await submitSmsCode(browser, sent, gateway.lastCode(phone), redirectUri()));
    const tokens = await client.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 'st' });
    expect(tokens.claims()).toMatchObject({ acr: ACR.multiFactor, amr: ['pwd', 'sms', 'mfa'] });
  });
});

describe('adding a phone in the account console', () => {
  async function consoleSecurity(tenantId: string): Promise<{ browser: Browser; userId: string; security: Page }> {
    const seeded = await seedTenant(gh, tenantId);
    const browser = new Browser(gh.origin);
    const login = expectPage(await browser.navigate(`/t/${tenantId}/account/login`));
    expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    const security = expectPage(await browser.navigate(`/t/${tenantId}/account/security`));
    return { browser, userId: seeded.userId, security };
  }

  it('refuses hostile numbers without texting: letters, too long, not E.164, premium rate, oversized', async () => {
    const { browser, security } = await consoleSecurity('sms-hostile');
    const count = gateway.texts.length;
    for (const phone of ['+44 7400 12345a', '+44740012345678901', '07400 123456', '447400123456', '+44 909 879 0000', '+800 1234 5678', '', ' ', '+1-800-FLOWERS']) {
      const page = expectPage(await browser.submit(security, 'form[action$="/security/sms"]', { phone }));
      expect(page.status, phone).toBe(400);
      expect(page.$('[role="alert"]').text(), phone).toMatch(/international format|cannot receive/);
    }
    expect(expectPage(await browser.submit(security, 'form[action$="/security/sms"]', { phone: `+44${'7'.repeat(60)}` })).status).toBe(400);
    expect(expectPage(await browser.submit(security, 'form[action$="/security/sms"]', { phone: gb(20), name: 'x'.repeat(65) })).status).toBe(400);
    expect(gateway.texts.length).toBe(count);
  });

  it('texts a code to the number, shows the number to its owner, adds it only with the right code; the admin API lists it masked and removes it', async () => {
    const { browser, userId, security } = await consoleSecurity('sms-add');
    const phone = gb(21);
    const enrol = expectPage(await browser.submit(security, 'form[action$="/security/sms"]', { phone: '+44 7400 1234 21', name: 'Work phone' }));
    expect(enrol.status).toBe(200);
    expect(enrol.$('main').text()).toContain(phone);
    expect(gateway.to(phone).at(-1)).toMatchObject({ tenant: 'sms-add', purpose: 'verification', signedBy: 'operator' });
    expect(enrol.$('input[name="code"]').attr('autocomplete')).toBe('one-time-code');
    const code = gateway.lastCode(phone);

    const wrong = expectPage(await browser.submit(enrol, 'form[action$="/security/sms/confirm"]', { code: code === '000000' ? '111111' : '000000' }));
    expect(wrong.status).toBe(400);
    expect(wrong.$('#code-error').text()).toContain('not valid');
    expect(await gh.app.mfa.factors.list('sms-add', userId)).toEqual([]);
    // The resend button waits for the cooldown.
    expect(expectPage(await browser.submit(wrong, 'form[action$="/security/sms/resend"]')).status).toBe(429);

    const done = expectPage(await browser.submit(wrong, 'form[action$="/security/sms/confirm"]', { code }));
    expect(done.status).toBe(200);
    expect(done.$('main').text()).toContain(`Phone: Work phone (${phone})`);
    const [factor] = await gh.app.mfa.factors.list('sms-add', userId);
    expect(factor).toMatchObject({ type: 'sms', name: 'Work phone', phone });
    expect((await gh.app.audit.list('sms-add', { type: 'mfa.factor_enrolled', limit: 10 })).length).toBe(1);

    const listed = await call(gh, root, 'GET', `/tenants/sms-add/users/${userId}/mfa/factors`);
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([expect.objectContaining({ type: 'sms', name: 'Work phone', phone: '+44 •••• ••3421' })]);
    expect(JSON.stringify(listed.body)).not.toContain('123421');
    expect((await call(gh, root, 'DELETE', `/tenants/sms-add/users/${userId}/mfa/factors/${factor!.id}`)).status).toBe(204);
    expect(await gh.app.mfa.factors.list('sms-add', userId)).toEqual([]);
    const removal = await gh.app.audit.list('sms-add', { type: 'mfa.factor_removed', limit: 10 });
    expect(JSON.stringify(removal)).not.toContain('123421');
  });
});

describe('tenant settings', () => {
  it('validates allowed_countries and message, and shows the defaults', async () => {
    await seedTenant(gh, 'sms-settings');
    const shown = await call(gh, root, 'GET', '/tenants/sms-settings');
    expect((shown.body['security_policy'] as Record<string, unknown>)['sms']).toEqual({ allowed_countries: null, message: '{code} is your {tenant} sign-in code.', webhook_url: null });
    for (const sms of [
      { allowed_countries: ['gb'] },
      { allowed_countries: ['GBR'] },
      { allowed_countries: [] },
      { allowed_countries: ['GB', 'GB'] },
      { allowed_countries: 'GB' },
      { message: 'no code here' },
      { message: '{code} and {code}' },
      { message: '{code} from {tenant} {user}' },
      { message: `{code} ${'x'.repeat(400)}` },
      { message: '{code}\u0007' },
      { unknown: true },
    ]) {
      const answer = await call(gh, root, 'PATCH', '/tenants/sms-settings', { security_policy: { sms } });
      expect(answer.status, JSON.stringify(sms)).toBe(400);
    }
  });

  it('numbers of a country the tenant does not allow are refused at enrolment and at sending; the message text is the tenant’s', async () => {
    const seeded = await seedTenant(gh, 'sms-countries');
    const french = fr(1);
    const { username } = await userWithPhone(gh, gateway, 'sms-countries', french);
    const patched = await call(gh, root, 'PATCH', '/tenants/sms-countries', { security_policy: { sms: { allowed_countries: ['GB'], message: 'Code {code} for {tenant}' } } });
    expect(patched.status).toBe(200);
    expect((patched.body['security_policy'] as Record<string, unknown>)['sms']).toMatchObject({ allowed_countries: ['GB'], message: 'Code {code} for {tenant}' });

    const enrol = await gh.app.mfa.sms.startEnrollment('sms-countries', seeded.userId, { phone: fr(2) }, { address: '198.51.100.7' });
    expect(enrol).toMatchObject({ ok: false, reason: 'country_not_allowed' });
    expect(gateway.to(fr(2))).toEqual([]);

    const count = gateway.to(french).length;
    const rpc = await relyingParty(gh, 'sms-countries', seeded.client.clientId, seeded.client.clientSecret);
    const { browser, page } = await afterPassword(gh, rpc, seeded.client.redirectUri, username);
    const refused = expectPage(await sendCode(browser, page, seeded.client.redirectUri));
    expect(refused.status).toBe(400);
    expect(refused.$('[role="alert"]').text()).toContain('cannot be sent to numbers of that country');
    expect(gateway.to(french).length).toBe(count);

    const british = gb(30);
    await userWithPhone(gh, gateway, 'sms-countries', british);
    expect(gateway.to(british).at(-1)!.text).toMatch(/^Code \d{6} for Tenant sms-countries$/);
    // The display name goes in as text: `$&` and `$'` are not replacement patterns.
    expect((await call(gh, root, 'PATCH', '/tenants/sms-countries', { display_name: "Dollar $& $' Co" })).status).toBe(200);
    await userWithPhone(gh, gateway, 'sms-countries', gb(31));
    expect(gateway.to(gb(31)).at(-1)!.text).toMatch(/^Code \d{6} for Dollar \$& \$' Co$/);
    // `null` restores every country.
    expect((await call(gh, root, 'PATCH', '/tenants/sms-countries', { security_policy: { sms: { allowed_countries: null } } })).status).toBe(200);
    expect(expectPage(await sendCode(browser, page, seeded.client.redirectUri)).status).toBe(200);
    expect(gateway.to(french).length).toBe(count + 1);
  });

  it('a tenant webhook carries the tenant’s texts signed with a secret shown once; setting it again rotates the secret; removing it falls back', async () => {
    await seedTenant(gh, 'sms-hook');
    const own = await smsGateway();
    try {
      for (const url of ['not a url', 'ftp://127.0.0.1/sms', 'http://user:pw@127.0.0.1/sms']) {
        expect((await call(gh, root, 'PUT', '/tenants/sms-hook/sms-webhook', { url })).status, url).toBe(400);
      }
      expect((await call(gh, root, 'PUT', '/tenants/sms-hook/sms-webhook', { url: own.url, secret: 'mine' })).status).toBe(400);
      const set = await call(gh, root, 'PUT', '/tenants/sms-hook/sms-webhook', { url: own.url });
      expect(set.status).toBe(200);
      const secret = String(set.body['secret']);
      expect(secret.length).toBeGreaterThanOrEqual(43);
      expect(((await call(gh, root, 'GET', '/tenants/sms-hook')).body['security_policy'] as Record<string, Record<string, unknown>>)['sms']).toMatchObject({ webhook_url: own.url });
      expect(JSON.stringify((await call(gh, root, 'GET', '/tenants/sms-hook')).body)).not.toContain(secret);
      own.forget('operator');
      own.trust('tenant', secret);

      await userWithPhone(gh, gateway, 'sms-hook', gb(40)).catch(() => undefined);
      expect(own.to(gb(40)).at(-1)).toMatchObject({ tenant: 'sms-hook', signedBy: 'tenant' });
      expect(gateway.to(gb(40))).toEqual([]);

      const rotated = await call(gh, root, 'PUT', '/tenants/sms-hook/sms-webhook', { url: own.url });
      expect(rotated.body['secret']).not.toBe(secret);
      const user = await gh.app.users.create('sms-hook', { username: 'rotated', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
      // The gateway still trusts only the old secret: the text signed with the new one is refused.
      expect(await gh.app.mfa.sms.startEnrollment('sms-hook', user._id, { phone: gb(41) }, { address: '198.51.100.8' })).toMatchObject({ ok: false, reason: 'not_sent' });
      expect(own.rejected.length).toBe(1);

      expect((await call(gh, root, 'DELETE', '/tenants/sms-hook/sms-webhook')).status).toBe(204);
      await userWithPhone(gh, gateway, 'sms-hook', gb(42));
      expect(gateway.to(gb(42)).at(-1)).toMatchObject({ tenant: 'sms-hook', signedBy: 'operator' });
    } finally {
      await own.close();
    }
  });

  it('a tenant webhook is refused where the operator’s sender is not the webhook (it would never be used)', async () => {
    const plain = await startAdminGatehouse();
    try {
      await seedTenant(plain, 'no-hook');
      const token = await adminToken(plain);
      const refused = await call(plain, token, 'PUT', '/tenants/no-hook/sms-webhook', { url: 'https://sms.example.com/hook' });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toBe('conflict');
    } finally {
      await plain.stop();
    }
  });

  it('under mfa: required, a phone counts as an authenticator: the login asks for it, and the last one cannot be removed', async () => {
    const seeded = await seedTenant(gh, 'sms-required');
    const phone = gb(60);
    const { username, userId, factorId } = await userWithPhone(gh, gateway, 'sms-required', phone);
    expect((await call(gh, root, 'PATCH', '/tenants/sms-required', { security_policy: { mfa: 'required' } })).status).toBe(200);
    expect((await call(gh, root, 'PATCH', '/tenants/sms-required/clients/web-app', { first_party: true })).status).toBe(200);
    const rpc = await relyingParty(gh, 'sms-required', seeded.client.clientId, seeded.client.clientSecret);
    const { browser, page } = await afterPassword(gh, rpc, seeded.client.redirectUri, username);
    expect(page.$('h1').text()).toContain('Get a code by text message');
    const sent = expectPage(await sendCode(browser, page, seeded.client.redirectUri));
    expectRedirect(await submitSmsCode(browser, sent, gateway.lastCode(phone), seeded.client.redirectUri));
    const removal = await call(gh, root, 'DELETE', `/tenants/sms-required/users/${userId}/mfa/factors/${factorId}`);
    expect(removal.status).toBe(409);
    expect(removal.body.error).toBe('mfa_last_factor');
  });

  it('with sms left out of mfa_factors, a phone does not count, the step is not offered and the console offers none', async () => {
    const seeded = await seedTenant(gh, 'sms-off');
    const { username, userId } = await userWithPhone(gh, gateway, 'sms-off', gb(50));
    expect((await call(gh, root, 'PATCH', '/tenants/sms-off', { security_policy: { mfa_factors: ['totp', 'recovery_codes'] } })).status).toBe(200);
    const rpc = await relyingParty(gh, 'sms-off', seeded.client.clientId, seeded.client.clientSecret);
    const browser = new Browser(gh.origin);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(rpc, { redirect_uri: seeded.client.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st', prompt: 'consent' });
    const login = expectPage(await browser.navigate(url.href, {}, seeded.client.redirectUri));
    const next = expectPage(await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD }, seeded.client.redirectUri));
    expect(next.$('form[action$="/sms"]').length).toBe(0);
    const uid = new URL(next.url).pathname.split('/')[4];
    const forced = await browser.navigate(`/t/sms-off/interaction/${uid}/sms`, { form: { intent: 'send', csrf: next.$('input[name="csrf"]').attr('value') ?? '' }, headers: { origin: gh.origin } });
    expect(expectPage(forced).status).toBe(400);
    expect(gateway.to(gb(50)).length).toBe(1);
    // The phone does not count: the password alone signs in (mfa optional, no counted factor).
    expect(await gh.app.mfa.factors.list('sms-off', userId)).toHaveLength(1);

    const consoleBrowser = new Browser(gh.origin);
    const consoleLogin = expectPage(await consoleBrowser.navigate('/t/sms-off/account/login'));
    expectPage(await consoleBrowser.submit(consoleLogin, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    const security = expectPage(await consoleBrowser.navigate('/t/sms-off/account/security'));
    expect(security.$('form[action$="/security/sms"]').length).toBe(0);
    const csrf = security.$('input[name="csrf"]').first().attr('value') ?? '';
    const forgedAdd = expectPage(await consoleBrowser.navigate('/t/sms-off/account/security/sms', { form: { csrf, phone: gb(51) }, headers: { origin: gh.origin } }));
    expect(forgedAdd.status).toBe(400);
    expect(gateway.to(gb(51))).toEqual([]);
  });
});
