import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, expectRedirect } from '../helpers/browser.js';
import { startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { consoleSteps } from '../helpers/account-console.js';
import { totpCode } from '../helpers/totp.js';

/**
 * The account console's Security section (issue 9): authenticator apps and recovery codes added
 * and removed by the user, behind a sign-in younger than five minutes that proves the user's
 * current factors, through the real pages.
 */
let gh: TestGatehouse;
let offset = 0;

beforeAll(async () => {
  gh = await startGatehouse({}, { clock: () => Date.now() + offset });
});
afterAll(() => gh.stop());

const { signIn, securityPage, addAuthenticator, freshSignIn } = consoleSteps(() => gh);

const auditOf = async (tenantId: string, type: string) => (await gh.app.audit.list(tenantId, { type, limit: 100 })).filter((event) => event.type === type);

describe('account console: security', () => {
  it('adds an authenticator app: QR code and key, a wrong code keeps the same key, the right one activates it (audited)', async () => {
    const { browser, userId } = await signIn('sec-add');
    const security = await securityPage(browser, 'sec-add');
    expect(security.$('main').text()).toContain('password only');
    const enrol = expectPage(await browser.submit(security, 'form[action$="/security/totp"]', { name: 'Work phone' }));
    const secret = enrol.$('#totp-key').text().trim();

    const wrong = expectPage(await browser.submit(enrol, 'form[action$="/security/totp/confirm"]', { code: '000000' === totpCode(secret, 0, gh.app.clock()) ? '111111' : '000000' }));
    expect(wrong.status).toBe(400);
    expect(wrong.$('#code-error').text()).toContain('not valid');
    expect(wrong.$('#code').attr('aria-invalid')).toBe('true');
    expect(wrong.$('#totp-key').text().trim()).toBe(secret);
    expect(await gh.app.mfa.factors.list('sec-add', userId)).toEqual([]);

    const done = expectPage(await browser.submit(wrong, 'form[action$="/security/totp/confirm"]', { code: totpCode(secret, 0, gh.app.clock()) }));
    expect(done.status).toBe(200);
    expect(done.$('main').text()).toContain('Authenticator app: Work phone');
    const factors = await gh.app.mfa.factors.list('sec-add', userId);
    expect(factors.map((factor) => [factor.type, factor.name])).toEqual([['totp', 'Work phone']]);
    const [event] = await auditOf('sec-add', 'mfa.factor_enrolled');
    expect(event?.actor).toEqual({ type: 'user', id: userId, tenant: 'sec-add' });
    expect(JSON.stringify(event)).not.toContain(secret);
  });

  it('confirms one enrolment once when the right code is posted ten times in parallel', async () => {
    const { browser, userId } = await signIn('sec-race');
    const security = await securityPage(browser, 'sec-race');
    const enrol = expectPage(await browser.submit(security, 'form[action$="/security/totp"]'));
    const code = totpCode(enrol.$('#totp-key').text().trim(), 0, gh.app.clock());
    const pages = await Promise.all(Array.from({ length: 10 }, () => browser.submit(enrol, 'form[action$="/security/totp/confirm"]', { code })));
    // One sets the app up; the others find the enrolment gone, or (once the user has a factor) are
    // sent to sign in again with it.
    expect(pages.filter((page) => expectPage(page).$('main').text().includes('is set up'))).toHaveLength(1);
    expect(await gh.app.mfa.factors.list('sec-race', userId)).toHaveLength(1);
  });

  it('asks for a new sign-in with the second factor before a change once the user has one', async () => {
    const { browser } = await signIn('sec-fresh');
    await addAuthenticator(browser, 'sec-fresh');
    // The sign-in that added the factor proved the password only: the next change needs the factor too.
    const security = await securityPage(browser, 'sec-fresh');
    const next = await browser.submit(security, 'form[action$="/security/recovery-codes"]', {}, `${gh.issuer('sec-fresh')}/auth`);
    const authorize = new URL((next as { redirectedTo: string }).redirectedTo);
    expect(authorize.searchParams.get('max_age')).toBe('0');
    expect(authorize.searchParams.get('acr_values')).toBe('http://schemas.openid.net/pape/policies/2007/06/multi-factor');
  });

  it('asks only for the password again where the tenant does not count the user’s factors (mfa off)', async () => {
    const { browser } = await signIn('sec-off');
    await addAuthenticator(browser, 'sec-off');
    await gh.app.tenants.update('sec-off', { securityPolicy: { mfa: 'off' } });
    gh.gatehouse.pool.evict('sec-off');
    // The password sign-in of a moment ago is enough there: the codes come at once.
    const codes = expectPage(await browser.submit(await securityPage(browser, 'sec-off'), 'form[action$="/security/recovery-codes"]'));
    expect(codes.$('ol.gh-codes code')).toHaveLength(10);
    offset += 6 * 60 * 1000;
    try {
      const next = await browser.submit(await securityPage(browser, 'sec-off'), 'form[action$="/security/recovery-codes"]', {}, `${gh.issuer('sec-off')}/auth`);
      const authorize = new URL(expectRedirect(next));
      expect(authorize.searchParams.get('max_age')).toBe('0');
      // A multi-factor request would be unmet there (enrolled factors do not count): the password is what there is to prove.
      expect(authorize.searchParams.get('acr_values')).toBeNull();
      const login = expectPage(await browser.navigate(authorize.href));
      const back = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
      expect(back.url).toBe(`${gh.issuer('sec-off')}/account/security`);
    } finally {
      offset -= 6 * 60 * 1000;
    }
  });

  it('asks for a new sign-in when the last one is older than five minutes', async () => {
    const { browser } = await signIn('sec-stale');
    const security = await securityPage(browser, 'sec-stale');
    offset += 6 * 60 * 1000;
    try {
      const next = await browser.submit(security, 'form[action$="/security/recovery-codes"]', {}, `${gh.issuer('sec-stale')}/auth`);
      const authorize = new URL((next as { redirectedTo: string }).redirectedTo);
      expect(authorize.searchParams.get('max_age')).toBe('0');
      // No factor yet: the password is all there is to prove again.
      expect(authorize.searchParams.get('acr_values')).toBeNull();
    } finally {
      offset -= 6 * 60 * 1000;
    }
  });

  it('shows ten recovery codes once; a new set voids the old one (audited)', async () => {
    const { browser, userId } = await signIn('sec-codes');
    const { secret, page: security } = await addAuthenticator(browser, 'sec-codes');
    // The authenticator was added on the password alone: generating codes asks for it first.
    const first = expectPage(await browser.submit(await freshSignIn(browser, 'sec-codes', secret), 'form[action$="/security/recovery-codes"]'));
    expect(security.status).toBe(200);
    const codes = first.$('ol.gh-codes code').map((_, element) => first.$(element).text()).get();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    const again = expectPage(await browser.submit(await securityPage(browser, 'sec-codes'), 'form[action$="/security/recovery-codes"]'));
    const fresh = again.$('ol.gh-codes code').map((_, element) => again.$(element).text()).get();
    expect(await gh.app.mfa.recoveryCodes.use('sec-codes', userId, codes[0]!)).toBe(false);
    expect(await gh.app.mfa.recoveryCodes.use('sec-codes', userId, fresh[0]!)).toBe(true);
    expect(await auditOf('sec-codes', 'mfa.recovery_codes_generated')).toHaveLength(2);
    // Shown once: the security page lists how many are left, never the codes.
    const listed = await securityPage(browser, 'sec-codes');
    expect(listed.html).not.toContain(fresh[1]!);
    expect(listed.$('main').text()).toContain('9 unused');
  });

  it('removes a factor, but not the last authenticator while the tenant requires MFA', async () => {
    const { browser, userId } = await signIn('sec-remove');
    const { secret } = await addAuthenticator(browser, 'sec-remove', 'Old phone');
    const [factor] = await gh.app.mfa.factors.list('sec-remove', userId);
    await gh.app.tenants.update('sec-remove', { securityPolicy: { mfa: 'required' } });
    gh.gatehouse.pool.evict('sec-remove');
    const page = await freshSignIn(browser, 'sec-remove', secret);
    const refused = expectPage(await browser.submit(page, `form[action$="/security/factors/${factor!.id}/remove"]`));
    expect(refused.status).toBe(409);
    expect(refused.$('.gh-alert').text()).toContain('requires a second factor');
    expect(await gh.app.mfa.factors.list('sec-remove', userId)).toHaveLength(1);

    await gh.app.tenants.update('sec-remove', { securityPolicy: { mfa: 'optional' } });
    gh.gatehouse.pool.evict('sec-remove');
    const removed = expectPage(await browser.submit(await securityPage(browser, 'sec-remove'), `form[action$="/security/factors/${factor!.id}/remove"]`));
    expect(removed.status).toBe(200);
    expect(await gh.app.mfa.factors.list('sec-remove', userId)).toEqual([]);
    expect(await auditOf('sec-remove', 'mfa.factor_removed')).toHaveLength(1);
  });

  it('refuses hostile and wrong input: no CSRF token, a foreign origin, an unknown enrolment or factor, oversized fields, no session', async () => {
    const { browser } = await signIn('sec-bad');
    const security = await securityPage(browser, 'sec-bad');
    const base = `/t/sec-bad/account/security`;
    const csrf = security.$('form[action$="/security/totp"] input[name="csrf"]').attr('value')!;

    expect(expectPage(await browser.navigate(`${base}/totp`, { form: { name: 'x' }, headers: { origin: gh.origin } })).status).toBe(403);
    expect(expectPage(await browser.navigate(`${base}/totp`, { form: { csrf, name: 'x' }, headers: { origin: 'https://evil.example' } })).status).toBe(403);
    expect(expectPage(await browser.navigate(`${base}/totp`, { form: { csrf, name: 'x'.repeat(65) }, headers: { origin: gh.origin } })).status).toBe(400);
    const unknown = expectPage(await browser.navigate(`${base}/totp/confirm`, { form: { csrf, enrollment_id: 'nope', code: '123456' }, headers: { origin: gh.origin } }));
    expect(unknown.status).toBe(400);
    expect(unknown.$('.gh-alert').text()).toContain('expired');
    expect(expectPage(await browser.navigate(`${base}/totp/confirm`, { form: { csrf, enrollment_id: 'x', code: '1'.repeat(33) }, headers: { origin: gh.origin } })).status).toBe(400);
    expect(expectPage(await browser.navigate(`${base}/factors/not-a-factor/remove`, { form: { csrf }, headers: { origin: gh.origin } })).status).toBe(404);

    const stranger = new Browser(gh.origin);
    const out = expectPage(await stranger.navigate(`${base}/totp`, { form: { csrf, name: 'x' }, headers: { origin: gh.origin } }));
    expect(out.url).toBe(`${gh.issuer('sec-bad')}/account`);
    expect(out.$('a[href$="/account/login"]')).toHaveLength(1);
  });
});

