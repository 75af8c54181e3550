import type * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, type Page } from '../helpers/browser.js';
import { TEST_PASSWORD, seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, openLoginPage, relyingParty, wrongPasswordBurst } from '../helpers/login.js';
import { BOOTSTRAP, adminToken, call } from '../admin/helpers.js';

/**
 * The sign-in throttle against an attacker who knows a username: guessers are slowed and capped,
 * the owner's browser keeps signing in, and the answers never tell a real identifier from an unknown one.
 */
let gh: TestGatehouse;
let acme: SeededTenant;
let rp: client.Configuration;
let token: string;
/** The server's throttle clock, frozen: tests move it to cross delays and drain buckets without waiting. */
const base = Date.now();
let offset = 0;
const advance = (seconds: number) => {
  offset += seconds * 1000;
};

beforeAll(async () => {
  gh = await startGatehouse({ bootstrap: BOOTSTRAP }, { clock: () => base + offset });
  acme = await seedTenant(gh, 'acme');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
  token = await adminToken(gh);
});
afterAll(() => gh.stop());

async function newUser(username: string, email?: string) {
  return gh.app.users.create('acme', { username, ...(email ? { email } : {}), passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
}

/** One password attempt from `browser` (a fresh one unless given): the page it answers with, or 'signed-in'. */
async function attempt(username: string, password: string, browser = new Browser(gh.origin)): Promise<{ status: number | 'signed-in'; page?: Page }> {
  // prompt=login: a browser that signed in before must show the form again rather than reuse its session.
  const login = await openLoginPage(browser, rp, acme.client.redirectUri, { prompt: 'login' });
  const result = await browser.submit(login, 'form[action$="/password"]', { username, password }, acme.client.redirectUri);
  if ('redirectedTo' in result) return { status: 'signed-in' };
  if (result.$('form[action$="/consent"]').length === 1) return { status: 'signed-in', page: result };
  return { status: result.status, page: result };
}

/** A browser that has signed in as `username` once, and so carries its device cookie. */
async function ownersBrowser(username: string): Promise<Browser> {
  const browser = new Browser(gh.origin);
  await authorize(browser, rp, { redirectUri: acme.client.redirectUri, username, scope: 'openid' });
  expect(browser.cookies.some((cookie) => cookie.name === 'gatehouse.device' && cookie.path === '/t/acme')).toBe(true);
  return browser;
}

describe('an attacker who knows the username', () => {
  it('cannot lock the owner out: the browser that signed in before keeps signing in', async () => {
    await newUser('owner1');
    const owner = await ownersBrowser('owner1');
    for (let guess = 0; guess < 10; guess += 1) {
      // Far enough apart that each guess passes its delay and really reaches the password check.
      if (guess > 0) advance(20 * 60);
      expect((await attempt('owner1', `guess-${guess}`)).status).toBe(401);
    }
    // A new browser with the right password waits with the guessers...
    const stranger = await attempt('owner1', TEST_PASSWORD);
    expect(stranger.status).toBe(429);
    expect(Number(stranger.page!.headers.get('retry-after'))).toBeGreaterThan(0);
    // ...but the owner's browser signs in.
    expect((await attempt('owner1', TEST_PASSWORD, owner)).status).toBe('signed-in');
  });

  it('is slowed with growing delays (Retry-After) after 5 failures, then refused at 25', async () => {
    await newUser('slowed');
    const statuses: Array<number | string> = [];
    for (let guess = 0; guess < 5; guess += 1) statuses.push((await attempt('slowed', `guess-${guess}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);

    // The 6th guess comes too soon: 429 with the delay to wait, and the right password is no exception.
    const early = await attempt('slowed', TEST_PASSWORD);
    expect(early.status).toBe(429);
    expect(early.page!.$('[role="alert"]').text()).toMatch(/Too many failed attempts\. Try again in 1 second\./);
    expect(early.page!.headers.get('retry-after')).toBe('1');

    // Each failure doubles the wait: 1 s, 2 s, 4 s ...
    const waits: number[] = [];
    for (let guess = 5; guess < 9; guess += 1) {
      advance(waits.at(-1) ?? 1);
      expect((await attempt('slowed', `guess-${guess}`)).status).toBe(401);
      const refused = await attempt('slowed', `guess-${guess}-too-soon`);
      expect(refused.status).toBe(429);
      waits.push(Number(refused.page!.headers.get('retry-after')));
    }
    expect(waits).toEqual([2, 4, 8, 16]);

  });

  it('caps unknown browsers at 25 failures, and lets the window slide rather than reset', async () => {
    await newUser('slider');
    const started = offset;
    let failures = 0;
    // Guess as fast as the throttle allows for a while: waiting out every Retry-After.
    for (let round = 0; round < 70; round += 1) {
      const result = await attempt('slider', `guess-${round}`);
      if (result.status === 401) failures += 1;
      else advance(Number(result.page!.headers.get('retry-after')));
    }
    const hours = (offset - started) / 3_600_000;
    // 25 in the bucket, plus one for each hour that drained: never a fresh budget.
    expect(failures).toBeLessThanOrEqual(25 + Math.ceil(hours));
    expect(failures).toBeGreaterThanOrEqual(25);

    // Right after a failure the full bucket refuses, and tells how long until one failure has drained.
    for (let last = await attempt('slider', 'fill'); last.status !== 401; last = await attempt('slider', 'fill')) advance(Number(last.page!.headers.get('retry-after')));
    const full = await attempt('slider', 'one-more');
    expect(full.status).toBe(429);
    const wait = Number(full.page!.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(3600);
    advance(wait);
    expect((await attempt('slider', 'after-draining')).status).toBe(401);
    expect((await attempt('slider', 'right-after')).status).toBe(429);
  });

  it('gets the same answers for a real account and for an unknown one', async () => {
    await newUser('realperson', 'realperson@example.com');
    const sequence = async (username: string, email: string) => {
      const statuses: Array<number | string> = [];
      for (let guess = 0; guess < 10; guess += 1) {
        statuses.push((await attempt(username, `guess-${guess}`)).status);
        advance(20 * 60);
      }
      for (let guess = 0; guess < 7; guess += 1) statuses.push((await attempt(email, `guess-${guess}`)).status);
      return statuses;
    };
    const real = await sequence('realperson', 'realperson@example.com');
    const unknown = await sequence('nobodyhere', 'nobodyhere@example.com');
    expect(real).toEqual(unknown);
    expect(real.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(real.slice(10)).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });

  it('lets no more than 10 of 40 parallel wrong passwords for one account reach the password check', async () => {
    await newUser('racer');
    const statuses = await wrongPasswordBurst(gh.origin, rp, acme.client.redirectUri, 'racer', 40);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(30);
  });

  it('charges look-alike spellings of an identifier to one budget', async () => {
    await newUser('lookalike');
    for (const spelling of ['lookalike', 'LookAlike', 'ｌｏｏｋａｌｉｋｅ', 'lооkalike', 'l\u043e\u043ekalike']) {
      expect((await attempt(spelling, 'wrong')).status).toBe(401);
    }
    // Cyrillic о (U+043E) and fullwidth letters have the same skeleton as the real name.
    expect((await attempt('LOOKALIKE', TEST_PASSWORD)).status).toBe(429);
  });

  it('does not give the owner’s device budget to another account signed in from that browser', async () => {
    await newUser('devowner');
    await newUser('devvictim');
    const browser = await ownersBrowser('devowner');
    for (let guess = 0; guess < 5; guess += 1) expect((await attempt('devvictim', `guess-${guess}`)).status).toBe(401);
    expect((await attempt('devvictim', 'guess-6', browser)).status).toBe(429);
  });

  it('ignores a tampered device cookie', async () => {
    await newUser('tampered');
    const browser = await ownersBrowser('tampered');
    const cookie = browser.cookies.find((candidate) => candidate.name === 'gatehouse.device')!;
    cookie.value = cookie.value.replace(/\.(\d{10,13})\./, (_, issued: string) => `.${Number(issued) + 1}.`);
    for (let guess = 0; guess < 5; guess += 1) expect((await attempt('tampered', `guess-${guess}`)).status).toBe(401);
    expect((await attempt('tampered', TEST_PASSWORD, browser)).status).toBe(429);
  });
});

describe('admin controls', () => {
  it('clears a user’s counters (audited), so an unknown browser signs in again', async () => {
    const user = await newUser('cleared', 'cleared@example.com');
    for (let guess = 0; guess < 5; guess += 1) await attempt('cleared', `guess-${guess}`);
    for (let guess = 0; guess < 5; guess += 1) await attempt('cleared@example.com', `guess-${guess}`);
    expect((await attempt('cleared', TEST_PASSWORD)).status).toBe(429);
    expect((await attempt('cleared@example.com', TEST_PASSWORD)).status).toBe(429);

    const response = await call(gh, token, 'DELETE', `/tenants/acme/users/${user._id}/sign-in-throttle`);
    expect(response.status).toBe(204);
    expect((await attempt('cleared@example.com', TEST_PASSWORD)).status).toBe('signed-in');
    expect((await attempt('cleared', TEST_PASSWORD)).status).toBe('signed-in');
    const events = await call(gh, token, 'GET', `/tenants/acme/audit-events?type=user.sign_in_throttle_cleared`);
    expect(events.body.items?.some((event) => (event['target'] as { id: string }).id === user._id)).toBe(true);
  });

  it('revokes the device cookies of a user: their browsers count as unknown again', async () => {
    const user = await newUser('revoked');
    const browser = await ownersBrowser('revoked');
    for (let guess = 0; guess < 5; guess += 1) await attempt('revoked', `guess-${guess}`);
    expect((await call(gh, token, 'DELETE', `/tenants/acme/users/${user._id}/sign-in-devices`)).status).toBe(204);
    expect((await attempt('revoked', TEST_PASSWORD, browser)).status).toBe(429);
    const events = await call(gh, token, 'GET', `/tenants/acme/audit-events?type=user.sign_in_devices_revoked`);
    expect(events.body.items?.length).toBeGreaterThan(0);
  });

  it('refuses both for an unknown user, another tenant’s user, and without the scope', async () => {
    expect((await call(gh, token, 'DELETE', '/tenants/acme/users/no-such-user/sign-in-throttle')).status).toBe(404);
    expect((await call(gh, token, 'DELETE', '/tenants/acme/users/..%2F..%2Fx/sign-in-devices')).status).toBe(400);
    const reader = await adminToken(gh, { scope: 'admin:users:read' });
    expect((await call(gh, reader, 'DELETE', `/tenants/acme/users/${acme.userId}/sign-in-throttle`)).status).toBe(403);
  });
});
