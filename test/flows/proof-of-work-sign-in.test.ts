import type * as client from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signInKeys, signInPolicies } from '../../src/authn/sign-in-throttle.js';
import { POW_TTL_SECONDS } from '../../src/authn/proof-of-work.js';
import { POW_DIFFICULTY } from '../../src/domain/proof-of-work-settings.js';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { TEST_PASSWORD, seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { openLoginPage, relyingParty } from '../helpers/login.js';
import { solvedChallenge, widgetChallengeUrl } from '../helpers/proof-of-work.js';
import { BOOTSTRAP, adminToken, call } from '../admin/helpers.js';

/**
 * Proof of work at the password sign-in, over real HTTP: off by default; once a tenant sets
 * `sign_in_after_failures`, that many failures for a username (or from an address) make the login
 * page carry the widget and every further attempt need a solved challenge, checked before anything
 * is counted. Challenges are fetched from the tenant's endpoint and solved with altcha-lib's solver.
 */
let gh: TestGatehouse;
let acme: SeededTenant;
let rp: client.Configuration;
let root: string;
const base = Date.now();
let offset = 0;
/** Moves the server's clock: the address budget drains 1 failure per 9 s, the username's 1 per hour. */
const advance = (seconds: number) => void (offset += seconds * 1000);

beforeAll(async () => {
  gh = await startGatehouse({ bootstrap: BOOTSTRAP }, { clock: () => base + offset });
  acme = await seedTenant(gh, 'acme');
  await seedTenant(gh, 'globex');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
  root = await adminToken(gh);
});
afterAll(() => gh.stop());
// Every test starts with the loopback address's failures drained (all tests share 127.0.0.1).
beforeEach(() => advance(30 * 60));

async function setPow(tenant: string, proofOfWork: Record<string, unknown> | null) {
  const changed = await call(gh, root, 'PATCH', `/tenants/${tenant}`, { security_policy: { proof_of_work: proofOfWork } });
  expect(changed.status, JSON.stringify(changed.body)).toBe(200);
  return changed.body['security_policy'] as Record<string, unknown>;
}

async function newUser(username: string) {
  await gh.app.users.create('acme', { username, passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
}

/** A login page, then one password POST with `extra` fields: the answer, or 'signed-in'. */
async function attempt(username: string, password: string, extra: Record<string, string> = {}, browser = new Browser(gh.origin)): Promise<{ status: number | 'signed-in'; page?: Page; login: Page }> {
  const login = await openLoginPage(browser, rp, acme.client.redirectUri, { prompt: 'login' });
  const result = await browser.submit(login, 'form[action$="/password"]', { username, password, ...extra }, acme.client.redirectUri);
  if ('redirectedTo' in result) return { status: 'signed-in', login };
  if (result.$('form[action$="/consent"]').length === 1) return { status: 'signed-in', page: result, login };
  return { status: result.status, page: result, login };
}

const failures = (username: string) => gh.app.throttle.level(signInKeys.identifier('acme', username), signInPolicies.identifier);
const alertOf = (page: Page | undefined) => page?.$('[role="alert"]').text().trim();

describe('proof of work at the sign-in', () => {
  it('is off by default: failures never bring the widget, and no challenge is issued', async () => {
    const policy = await setPow('acme', null);
    expect(policy['proof_of_work']).toEqual({ sign_up: false, sign_in_after_failures: null, password_reset: false, sms: false, difficulty: POW_DIFFICULTY.default });
    await newUser('offuser');
    for (let i = 0; i < 4; i += 1) {
      const result = await attempt('offuser', `wrong-${i}`);
      expect(result.status).toBe(401);
      expect(widgetChallengeUrl(result.page!)).toBeUndefined();
    }
    expect((await fetch(`${gh.issuer('acme')}/proof-of-work/sign-in`)).status).toBe(404);
    expect((await attempt('offuser', TEST_PASSWORD)).status).toBe('signed-in');
  });

  it('asks for a solution after N failures for the username, counts nothing without one, and signs in with one', async () => {
    await setPow('acme', { sign_in_after_failures: 2, difficulty: POW_DIFFICULTY.min });
    await newUser('bob');
    const first = await attempt('bob', 'wrong-1');
    expect(first.status).toBe(401);
    expect(widgetChallengeUrl(first.login)).toBeUndefined();
    expect(widgetChallengeUrl(first.page!)).toBeUndefined();
    const second = await attempt('bob', 'wrong-2');
    expect(second.status).toBe(401);
    // The page that answers the second failure carries the widget, inside the password form.
    expect(second.page!.$('form[action$="/password"] altcha-widget').attr('challenge')).toBe('/t/acme/proof-of-work/sign-in');
    expect(second.page!.$('script[src="/assets/altcha.js"]').attr('type')).toBe('module');
    expect(await failures('bob')).toBe(2);

    // Without a solution, even the right password is refused with 400, and nothing is counted.
    const missing = await attempt('bob', TEST_PASSWORD);
    expect(missing.status).toBe(400);
    expect(alertOf(missing.page)).toMatch(/^Please wait while your browser checks/);
    expect(widgetChallengeUrl(missing.page!)).toBe('/t/acme/proof-of-work/sign-in');
    for (const bad of ['', 'not base64 at all', Buffer.from('{"challenge":null,"solution":null,"test":true}').toString('base64'), 'x'.repeat(10_000)]) {
      const refused = await attempt('bob', 'wrong-again', { altcha: bad });
      expect(refused.status, bad.slice(0, 20)).toBe(400);
    }
    // A field of the wrong shape (`altcha[x]=...` parses to an object): refused, not an error.
    expect((await attempt('bob', 'wrong-again', { 'altcha[x]': 'y' })).status).toBe(400);
    expect(await failures('bob')).toBe(2);

    // A tampered solution (another counter's key) is refused the same way, with its own message.
    const real = JSON.parse(Buffer.from(await solvedChallenge(gh.origin, '/t/acme/proof-of-work/sign-in'), 'base64').toString()) as { solution: { derivedKey: string } };
    real.solution.derivedKey = 'f'.repeat(64);
    const tampered = await attempt('bob', TEST_PASSWORD, { altcha: Buffer.from(JSON.stringify(real)).toString('base64') });
    expect(tampered.status).toBe(400);
    expect(alertOf(tampered.page)).toBe('The check did not complete; try again.');

    // A solved challenge: the attempt goes ahead (a wrong password is counted as usual)...
    const counted = await attempt('bob', 'wrong-3', { altcha: await solvedChallenge(gh.origin, '/t/acme/proof-of-work/sign-in') });
    expect(counted.status).toBe(401);
    expect(await failures('bob')).toBe(3);
    // ...and the right password signs in.
    advance(10);
    expect((await attempt('bob', TEST_PASSWORD, { altcha: await solvedChallenge(gh.origin, '/t/acme/proof-of-work/sign-in') })).status).toBe('signed-in');
    // The success emptied the username's budget: once the address's failures drain, no solution is due.
    advance(60);
    expect((await attempt('bob', TEST_PASSWORD)).status).toBe('signed-in');
  });

  it('refuses a replayed solution, sequentially and in parallel', async () => {
    await setPow('acme', { sign_in_after_failures: 1, difficulty: POW_DIFFICULTY.min });
    await newUser('carol');
    expect((await attempt('carol', 'wrong')).status).toBe(401);
    const once = await solvedChallenge(gh.origin, '/t/acme/proof-of-work/sign-in');
    expect((await attempt('carol', 'wrong-2', { altcha: once })).status).toBe(401);
    const again = await attempt('carol', TEST_PASSWORD, { altcha: once });
    expect(again.status).toBe(400);
    expect(alertOf(again.page)).toBe('The check did not complete; try again.');

    // Ten browsers send one solution at once: exactly one gets to the password check.
    advance(30 * 60);
    const shared = await solvedChallenge(gh.origin, '/t/acme/proof-of-work/sign-in');
    const pages = await Promise.all(Array.from({ length: 10 }, async () => {
      const browser = new Browser(gh.origin);
      return { browser, login: await openLoginPage(browser, rp, acme.client.redirectUri, { prompt: 'login' }) };
    }));
    const before = await failures('carol');
    const results = await Promise.all(pages.map(({ browser, login }, i) => browser.submit(login, 'form[action$="/password"]', { username: 'carol', password: `wrong-p${i}`, altcha: shared })));
    const statuses = results.map((result) => expectPage(result).status).sort();
    expect(statuses).toEqual([400, 400, 400, 400, 400, 400, 400, 400, 400, 401]);
    expect(Math.round(await failures('carol'))).toBe(Math.round(before) + 1);
  });

  it("refuses an expired challenge, another tenant's and another form's", async () => {
    await setPow('acme', { sign_in_after_failures: 1, difficulty: POW_DIFFICULTY.min, sms: true });
    await setPow('globex', { sign_in_after_failures: 1, difficulty: POW_DIFFICULTY.min });
    await newUser('dave');
    expect((await attempt('dave', 'wrong')).status).toBe(401);
    const foreign = await solvedChallenge(gh.origin, '/t/globex/proof-of-work/sign-in');
    expect((await attempt('dave', TEST_PASSWORD, { altcha: foreign })).status).toBe(400);
    const sms = await solvedChallenge(gh.origin, '/t/acme/proof-of-work/sms');
    expect((await attempt('dave', TEST_PASSWORD, { altcha: sms })).status).toBe(400);
    const stale = await solvedChallenge(gh.origin, '/t/acme/proof-of-work/sign-in');
    advance(POW_TTL_SECONDS + 1);
    expect((await attempt('dave', TEST_PASSWORD, { altcha: stale })).status).toBe(400);
    expect(await failures('dave')).toBeCloseTo(1, 0);
  });

  it('asks for a solution after N failures from one address, whatever the username', async () => {
    await setPow('acme', { sign_in_after_failures: 3, difficulty: POW_DIFFICULTY.min });
    for (const name of ['spray-1', 'spray-2', 'spray-3']) expect((await attempt(name, 'wrong')).status).toBe(401);
    // A username never tried before, from the same address: the login page itself carries the widget.
    const fresh = await attempt('never-tried', TEST_PASSWORD);
    expect(widgetChallengeUrl(fresh.login)).toBe('/t/acme/proof-of-work/sign-in');
    expect(fresh.status).toBe(400);
    // Failures from the address drain (one per 9 s): then no solution is due.
    advance(60);
    expect(widgetChallengeUrl((await attempt('never-tried', 'wrong')).page!)).toBeUndefined();
  });

  it('serves the widget, its stylesheet and worker from our own origin under the unchanged CSP', async () => {
    for (const [name, type] of [['altcha.js', 'text/javascript'], ['altcha.css', 'text/css'], ['altcha-pbkdf2-worker.js', 'text/javascript'], ['proof-of-work.js', 'text/javascript']] as const) {
      const response = await fetch(`${gh.origin}/assets/${name}`);
      expect(response.status, name).toBe(200);
      expect(response.headers.get('content-type')).toContain(type);
    }
    const page = await fetch(`${gh.issuer('acme')}/.well-known/openid-configuration`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|blob:|worker-src/);
  });
});

describe('proof-of-work settings in the admin API', () => {
  it('validates and bounds them, replaces them whole and restores the defaults with null', async () => {
    const bad: unknown[] = [
      { difficulty: POW_DIFFICULTY.min - 1 },
      { difficulty: POW_DIFFICULTY.max + 1 },
      { difficulty: 1.5 },
      { difficulty: '5000' },
      { sign_in_after_failures: 0 },
      { sign_in_after_failures: 26 },
      { sign_up: 'yes' },
      { sms: true, unknown: true },
      { sms: { $ne: null } },
      'on',
      [],
    ];
    for (const value of bad) {
      const refused = await call(gh, root, 'PATCH', '/tenants/globex', { security_policy: { proof_of_work: value } });
      expect(refused.status, JSON.stringify(value)).toBe(400);
    }
    const on = await setPow('globex', { sign_up: true, password_reset: true, sms: true, sign_in_after_failures: 5, difficulty: 20_000 });
    expect(on['proof_of_work']).toEqual({ sign_up: true, sign_in_after_failures: 5, password_reset: true, sms: true, difficulty: 20_000 });
    const replaced = await setPow('globex', { sms: true });
    expect(replaced['proof_of_work']).toEqual({ sign_up: false, sign_in_after_failures: null, password_reset: false, sms: true, difficulty: POW_DIFFICULTY.default });
    // Each purpose's challenge endpoint answers only while that purpose is on.
    for (const [purpose, status] of [['sms', 200], ['sign-up', 404], ['password-reset', 404], ['sign-in', 404], ['nonsense', 404]] as const) {
      expect((await fetch(`${gh.issuer('globex')}/proof-of-work/${purpose}`)).status, purpose).toBe(status);
    }
    // Hostile paths and methods at the challenge endpoint: ours, and refused.
    for (const path of ['sms%00', 'SMS', 'sms/..', '..%2Fsign-in', 's'.repeat(2000)]) {
      expect((await fetch(`${gh.issuer('globex')}/proof-of-work/${path}`)).status, path.slice(0, 20)).toBe(404);
    }
    expect((await fetch(`${gh.issuer('globex')}/proof-of-work/sms`, { method: 'POST' })).status).toBe(405);
    const off = await setPow('globex', null);
    expect(off['proof_of_work']).toEqual({ sign_up: false, sign_in_after_failures: null, password_reset: false, sms: false, difficulty: POW_DIFFICULTY.default });
    // Set when a tenant is created, too.
    const created = await call(gh, root, 'POST', '/tenants', { id: 'initech', display_name: 'Initech', security_policy: { proof_of_work: { sms: true, difficulty: 800 } } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((created.body['security_policy'] as Record<string, unknown>)['proof_of_work']).toMatchObject({ sms: true, difficulty: 800, sign_up: false });
    const openapi = JSON.stringify(await (await fetch(`${gh.origin}/admin/v1/openapi.json`)).json());
    expect(openapi).toContain('sign_in_after_failures');
  });
});
