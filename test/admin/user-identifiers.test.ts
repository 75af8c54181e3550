/**
 * Identifiers (issue 6, defects 6 and 7): usernames and e-mail addresses of one tenant share one
 * namespace of uniqueness keys (UTS #39 skeleton of the case-folded NFKC form), usernames follow
 * the input profile, and the store's unique index keeps both true under parallel writes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';
import { adminApi, adminToken, BOOTSTRAP, call, startAdminGatehouse, type ApiResponse } from './helpers.js';

let gh: TestGatehouse;
let root: string;
let a: SeededTenant;
/** a lesser admin: a tenant-A service account holding only admin:users:* */
let aAdmin: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  a = await seedTenant(gh, 'ids-a');
  await seedTenant(gh, 'ids-b');
  const api = adminApi(gh);
  await gh.app.roles.create('ids-a', { name: 'user-admin', permissions: ['admin:users:read', 'admin:users:write'].map((scope) => ({ api, scope })) });
  const { clientSecret } = await gh.app.clients.create('ids-a', { client_id: 'a-ops', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, { roles: ['user-admin'] });
  aAdmin = await adminToken(gh, { tenant: 'ids-a', clientId: 'a-ops', clientSecret: clientSecret!, scope: 'admin:users:read admin:users:write' });
});
afterAll(() => gh.stop());

const users = (tenant: string) => `/tenants/${tenant}/users`;

function expect409(result: ApiResponse): void {
  expect(result.status, JSON.stringify(result.body)).toBe(409);
  expect(result.body.error).toBe('conflict');
}

function expect400(result: ApiResponse, field: string): void {
  expect(result.status, JSON.stringify(result.body)).toBe(400);
  expect(result.body.error).toBe('invalid_request');
  expect(result.body.error_description).toContain(`"${field}"`);
}

async function count(tenant: string): Promise<number> {
  return (await gh.app.users.list(tenant, { limit: 10_000 })).length;
}

/** Signs in through the real login form; returns the page or the redirect the browser ends on. */
async function signIn(tenant: SeededTenant, username: string, password: string, target = gh): Promise<Page | { redirectedTo: string }> {
  const rp = await relyingParty(target, tenant.id, tenant.client.clientId, tenant.client.clientSecret);
  const browser = new Browser(target.origin);
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: tenant.client.redirectUri,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const login = expectPage(await browser.navigate(url.href, {}, tenant.client.redirectUri));
  return browser.submit(login, 'form[action$="/password"]', { username, password }, tenant.client.redirectUri);
}

/** The `sub` of the ID token after a full sign-in as `username`. */
async function subjectOf(tenant: SeededTenant, username: string, password: string, target = gh): Promise<string> {
  const rp = await relyingParty(target, tenant.id, tenant.client.clientId, tenant.client.clientSecret);
  const { callback, verifier, state } = await authorize(new Browser(target.origin), rp, { redirectUri: tenant.client.redirectUri, username, password, scope: 'openid' });
  const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  return tokens.claims()!.sub;
}

describe('a username never equals another user’s e-mail address', () => {
  it('a lesser admin cannot create the username alice@example.com, so it cannot capture Alice’s e-mail sign-in', async () => {
    const before = await count('ids-a');
    for (const username of ['alice@example.com', 'ALICE@Example.COM', 'ａｌｉｃｅ@example.com']) {
      expect409(await call(gh, aAdmin, 'POST', users('ids-a'), { username, password: 'attacker password 1' }));
    }
    expect(await count('ids-a')).toBe(before);

    // Through the real login form: the attacker's password gets nothing; Alice's gets Alice.
    expect(expectPage(await signIn(a, 'alice@example.com', 'attacker password 1')).status).toBe(401);
    expect(await subjectOf(a, 'alice@example.com', TEST_PASSWORD)).toBe(a.userId);
    expect(await subjectOf(a, 'Alice@Example.com', TEST_PASSWORD)).toBe(a.userId);
  });

  it('an e-mail address never equals another user’s username, on create and on PATCH in both directions', async () => {
    const owner = await call(gh, aAdmin, 'POST', users('ids-a'), { username: 'dora@example.net' });
    expect(owner.status).toBe(201);
    expect409(await call(gh, aAdmin, 'POST', users('ids-a'), { username: 'dora2', email: 'Dora@Example.net' }));

    const other = await call(gh, aAdmin, 'POST', users('ids-a'), { username: 'edgar', email: 'edgar@example.net' });
    expect(other.status).toBe(201);
    const path = `${users('ids-a')}/${other.body['id']}`;
    expect409(await call(gh, aAdmin, 'PATCH', path, { email: 'dora@example.net' }));
    expect409(await call(gh, aAdmin, 'PATCH', path, { username: 'alice@example.com' }));
    expect409(await call(gh, aAdmin, 'PATCH', `${users('ids-a')}/${owner.body['id']}`, { username: 'edgar@example.net' }));
    expect((await gh.app.users.findById('ids-a', String(other.body['id'])))).toMatchObject({ username: 'edgar', email: 'edgar@example.net' });

    // A user's own username and e-mail address may be the same, and may be swapped for each other.
    expect((await call(gh, aAdmin, 'PATCH', path, { username: 'edgar@example.net' })).status).toBe(200);
    expect((await call(gh, aAdmin, 'PATCH', path, { username: 'edgar', email: 'EDGAR@example.net' })).status).toBe(200);
    // A freed identifier can be taken by someone else.
    expect((await call(gh, aAdmin, 'PATCH', path, { email: 'edgar.new@example.net' })).status).toBe(200);
    expect((await call(gh, aAdmin, 'POST', users('ids-a'), { username: 'edgar@example.net' })).status).toBe(201);
    // Another tenant's identifiers are no conflict.
    expect((await call(gh, root, 'POST', users('ids-b'), { username: 'dora@example.net' })).status).toBe(201);
  });

  it('parallel creates racing for one identifier: exactly one 201, the others 409', async () => {
    const bodies = [
      ...['racer@example.net', 'RACER@example.net', 'Racer@Example.Net', 'ｒａｃｅｒ@example.net'].map((username) => ({ username })),
      ...['r1', 'r2', 'r3', 'r4'].map((username) => ({ username, email: 'racer@example.net' })),
    ];
    const before = await count('ids-a');
    const results = await Promise.all([...bodies, ...bodies].map((body) => call(gh, aAdmin, 'POST', users('ids-a'), body)));
    expect(results.map((result) => result.status).sort()).toEqual([201, ...Array<number>(bodies.length * 2 - 1).fill(409)]);
    expect(await count('ids-a')).toBe(before + 1);
  });

  it('parallel PATCHes racing for one identifier: exactly one wins', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(String((await call(gh, aAdmin, 'POST', users('ids-a'), { username: `swap${i}` })).body['id']));
    const results = await Promise.all(
      ids.map((id, i) => call(gh, aAdmin, 'PATCH', `${users('ids-a')}/${id}`, i % 2 === 0 ? { username: 'swap@example.net' } : { email: 'swap@example.net' })),
    );
    expect(results.map((result) => result.status).sort()).toEqual([200, 409, 409, 409, 409, 409]);
    const holders = await Promise.all(ids.map((id) => gh.app.users.findById('ids-a', id)));
    expect(holders.filter((user) => user?.username === 'swap@example.net' || user?.email === 'swap@example.net')).toHaveLength(1);
  });
});

describe('look-alike usernames are refused', () => {
  it('refuses spellings of an existing username that only look different (409)', async () => {
    const before = await count('ids-a');
    // alice exists: case, width, dotless ı, Cyrillic а, і and с (whole word), mathematical letters.
    for (const username of ['ALICE', 'ａｌｉｃｅ', 'alıce', 'аӏісе', '𝐚𝐥𝐢𝐜𝐞']) {
      expect409(await call(gh, aAdmin, 'POST', users('ids-a'), { username }));
    }
    expect((await call(gh, aAdmin, 'POST', users('ids-a'), { username: 'straße' })).status).toBe(201);
    for (const username of ['strasse', 'STRASSE', 'ſtraſſe', 'STRAẞE']) {
      expect409(await call(gh, aAdmin, 'POST', users('ids-a'), { username }));
    }
    expect((await call(gh, aAdmin, 'POST', users('ids-a'), { username: 'осе' })).status).toBe(201); // Cyrillic only
    expect409(await call(gh, aAdmin, 'POST', users('ids-a'), { username: 'oce' })); // Latin look-alike
    expect(await count('ids-a')).toBe(before + 2);
  });

  it('look-alikes cannot sign in as someone else: they name the one account that holds the identifier', async () => {
    const created = await call(gh, aAdmin, 'POST', users('ids-a'), { username: 'vera', password: 'vera password 1' });
    expect(created.status).toBe(201);
    expect409(await call(gh, aAdmin, 'POST', users('ids-a'), { username: 'VERA', password: 'attacker password 1' }));
    expect(expectPage(await signIn(a, 'VERA', 'attacker password 1')).status).toBe(401);
    expect(await subjectOf(a, 'Vera', 'vera password 1')).toBe(created.body['id']);
  });

  it('refuses input outside the username profile with a 400 naming the field, writing nothing', async () => {
    const before = await count('ids-a');
    const bad = [
      'ali\u0307ce', // i + combining dot above looks like i (UTS #39 5.4)
      'İnci', // folds to i + combining dot above
      'a\u0301\u0301b', // the same nonspacing mark twice
      '\u0301bob', // starts with a combining mark
      'al\u200Dice', // zero-width joiner (default ignorable)
      'al\u00ADice', // soft hyphen
      'bob\u202Eevil', // bidi override
      'pаypal', // Latin with a Cyrillic а: mixed scripts
      'bob😀', // symbol
      '«bob»', // non-ASCII punctuation
      'bob\u3000smith', // ideographic space
      'a\u1160b', // Hangul filler
      '\uE000bob', // private use
      '\u{10FFFF}bob', // noncharacter
      'a'.repeat(64) + 'ﷺ'.repeat(4), // NFKC expands past the limit
    ];
    for (const username of bad) expect400(await call(gh, aAdmin, 'POST', users('ids-a'), { username }), 'username');
    const existing = (await gh.app.users.findByIdentifier('ids-a', 'alice'))!;
    for (const username of ['ali\u0307ce', 'bob\u202Eevil', 'pаypal']) {
      expect400(await call(gh, aAdmin, 'PATCH', `${users('ids-a')}/${existing._id}`, { username }), 'username');
    }
    expect(await count('ids-a')).toBe(before);
    expect((await gh.app.users.findById('ids-a', existing._id))?.username).toBe('alice');
  });

  it('accepts identifiers the profile allows, stored case-folded and NFKC-normalised', async () => {
    const accepted: Array<[string, string]> = [
      ['Zoë.Ünal', 'zoë.ünal'],
      ['ＢＥＮ_2', 'ben_2'],
      ['Ὀδυσσεύς', 'ὀδυσσεύσ'],
      ['山田太郎', '山田太郎'],
      ['たなか_Taro', 'たなか_taro'],
      ['o\'brien+test@example.org', 'o\'brien+test@example.org'],
    ];
    for (const [username, stored] of accepted) {
      const result = await call(gh, aAdmin, 'POST', users('ids-a'), { username });
      expect(result.status, `${username}: ${JSON.stringify(result.body)}`).toBe(201);
      expect(result.body['username']).toBe(stored);
    }
  });
});

describe('users stored before identifier keys existed', () => {
  it('get their keys when the embedded store boots: they still sign in and still block look-alikes', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-ids-'));
    const settings = { store: { kind: 'nedb' as const }, dataDir, bootstrap: BOOTSTRAP };
    try {
      let old = await startGatehouse(settings);
      const masterKey = old.app.config.masterKey;
      const tenant = await seedTenant(old, 'legacy');
      const hash = await old.app.passwords.hash('mallory password');
      const legacy = old.app.store.collection('users');
      // As the previous version stored them: no identifierKeys; the attacker's username is Alice's address.
      await legacy.updateMany({ tenant: 'legacy' }, { $unset: { identifierKeys: true } });
      const now = new Date();
      await legacy.insertOne({ _id: 'mallory', tenant: 'legacy', username: 'alice@example.com', emailVerified: false, phoneVerified: false, disabled: false, passwordHash: hash, createdAt: now, updatedAt: now });
      await old.stop();

      old = await startGatehouse({ ...settings, masterKey });
      const token = await adminToken(old);
      expect409(await call(old, token, 'POST', users('legacy'), { username: 'ALICE' }));
      expect409(await call(old, token, 'POST', users('legacy'), { username: 'bob', email: 'alice@example.com' }));
      expect409(await call(old, token, 'POST', users('legacy'), { username: 'ＡＬＩＣＥ@example.com' }));
      expect(await subjectOf(tenant, 'alice', TEST_PASSWORD, old)).toBe(tenant.userId);
      // The older account keeps the contested identifier; the later one cannot sign in with it.
      expect(await subjectOf(tenant, 'alice@example.com', TEST_PASSWORD, old)).toBe(tenant.userId);
      expect(expectPage(await signIn(tenant, 'alice@example.com', 'mallory password', old)).status).toBe(401);
      await old.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
