import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { seedTenant, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';
import { adminApi, adminToken, call, startAdminGatehouse, userAdminToken, type ApiResponse } from './helpers.js';

let gh: TestGatehouse;
let root: string;
let a: SeededTenant;
let b: SeededTenant;
/** a tenant admin of tenant A (service account whose role grants admin:users:*) */
let aAdmin: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  a = await seedTenant(gh, 'users-a');
  b = await seedTenant(gh, 'users-b');
  aAdmin = await userAdminToken(gh, 'users-a');
});
afterAll(() => gh.stop());

const users = (tenant: string) => `/tenants/${tenant}/users`;

async function allUsers(tenant: string) {
  return gh.app.users.list(tenant, { limit: 10_000 });
}

async function auditTypes(tenant: string, target: string): Promise<string[]> {
  const events = (await gh.app.audit.list(tenant, { limit: 100 })).filter((event) => event.target.id === target);
  return events.map((event) => event.type);
}

/** Nothing that looks like a password or its hash, anywhere in a response or audit event. */
function expectNoSecrets(value: unknown): void {
  const json = JSON.stringify(value);
  expect(json).not.toMatch(/\$argon2/);
  expect(json).not.toMatch(/"password"|passwordHash|password_hash/i);
}

function expect400(result: ApiResponse, field: string): void {
  expect(result.status, JSON.stringify(result.body)).toBe(400);
  expect(result.body.error).toBe('invalid_request');
  expect(result.body.error_description).toContain(`"${field}"`);
}

describe('users: create, read, update, disable, passwords, delete', () => {
  it('runs the whole life cycle through the API, writing audit events free of secrets', async () => {
    const created = await call(gh, root, 'POST', users('users-a'), {
      username: 'Bob.Builder',
      email: 'Bob@Example.com',
      email_verified: true,
      phone: '+15555550111',
      given_name: 'Bob',
      family_name: 'Builder',
      password: 'initial password 1',
      password_must_change: true,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = String(created.body['id']);
    expect(created.headers.get('location')).toBe(`/admin/v1/tenants/users-a/users/${id}`);
    expect(created.body).toMatchObject({
      username: 'bob.builder',
      email: 'bob@example.com',
      email_verified: true,
      phone: '+15555550111',
      phone_verified: false,
      given_name: 'Bob',
      family_name: 'Builder',
      name: null,
      has_password: true,
      password_must_change: true,
      roles: [],
      disabled: false,
    });
    expectNoSecrets(created.body);
    expect((await gh.app.users.findById('users-a', id))?.passwordHash).toMatch(/^\$argon2id\$/);

    const read = await call(gh, root, 'GET', `${users('users-a')}/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expectNoSecrets(read.body);

    // Role assignment lives elsewhere, but a user's roles are shown.
    await gh.app.users.setRoles('users-a', id, ['api-user']);
    const patched = await call(gh, root, 'PATCH', `${users('users-a')}/${id}`, { username: 'bob', name: 'Bob the Builder', email: 'bob@new.example', family_name: null });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    // A new address is not verified until someone says so.
    expect(patched.body).toMatchObject({ username: 'bob', name: 'Bob the Builder', email: 'bob@new.example', email_verified: false, family_name: null, given_name: 'Bob', roles: ['api-user'] });

    const disabled = await call(gh, root, 'POST', `${users('users-a')}/${id}/disable`);
    expect(disabled.body['disabled']).toBe(true);
    const enabled = await call(gh, root, 'POST', `${users('users-a')}/${id}/enable`);
    expect(enabled.body['disabled']).toBe(false);

    const reset = await call(gh, root, 'PUT', `${users('users-a')}/${id}/password`, { password: 'second password 2' });
    expect(reset.status).toBe(200);
    expect(reset.body).toMatchObject({ has_password: true, password_must_change: false });
    expectNoSecrets(reset.body);
    const removed = await call(gh, root, 'DELETE', `${users('users-a')}/${id}/password`);
    expect(removed.status).toBe(204);
    expect((await call(gh, root, 'GET', `${users('users-a')}/${id}`)).body).toMatchObject({ has_password: false, password_must_change: false });
    expect((await gh.app.users.findById('users-a', id))?.passwordHash).toBeUndefined();

    expect((await call(gh, root, 'DELETE', `${users('users-a')}/${id}`)).status).toBe(204);
    expect((await call(gh, root, 'GET', `${users('users-a')}/${id}`)).status).toBe(404);
    expect((await call(gh, root, 'DELETE', `${users('users-a')}/${id}`)).status).toBe(404);

    expect(await auditTypes('users-a', id)).toEqual(['user.deleted', 'user.password_removed', 'user.password_set', 'user.enabled', 'user.disabled', 'user.updated', 'user.created']);
    const events = await call(gh, root, 'GET', '/tenants/users-a/audit-events?limit=100');
    const ours = events.body.items!.filter((event) => (event['target'] as { id: string }).id === id);
    expect(ours).toHaveLength(7);
    expect(ours.find((event) => event['type'] === 'user.updated')).toMatchObject({ actor: { type: 'client', id: 'ops-bot', tenant: 'system' }, before: { username: 'bob.builder' }, after: { username: 'bob' } });
    expect(ours.find((event) => event['type'] === 'user.password_set')).toMatchObject({ before: { password_must_change: true }, after: { password_must_change: false } });
    expectNoSecrets(ours);
  });

  it('sets a password by the tenant’s policy: its minimum length, at most 1024 characters', async () => {
    const user = await call(gh, root, 'POST', users('users-b'), { username: 'policy-pat' });
    const id = String(user.body['id']);
    expect(user.body['has_password']).toBe(false);
    expect400(await call(gh, root, 'PUT', `${users('users-b')}/${id}/password`, { password: 'seven77' }), 'password');
    expect400(await call(gh, root, 'PUT', `${users('users-b')}/${id}/password`, { password: 'x'.repeat(1025) }), 'password');
    expect((await call(gh, root, 'PUT', `${users('users-b')}/${id}/password`, { password: 'x'.repeat(1024) })).status).toBe(200);

    await call(gh, root, 'PATCH', '/tenants/users-b', { security_policy: { password: { min_length: 12 } } });
    const short = await call(gh, root, 'PUT', `${users('users-b')}/${id}/password`, { password: 'eleven char' });
    expect400(short, 'password');
    expect(short.body.error_description).toContain('12');
    expect400(await call(gh, root, 'POST', users('users-b'), { username: 'policy-pam', password: 'eleven char' }), 'password');
    expect((await gh.app.users.findByIdentifier('users-b', 'policy-pam'))).toBeNull();
    expect((await call(gh, root, 'PUT', `${users('users-b')}/${id}/password`, { password: 'twelve chars', must_change: true })).body['password_must_change']).toBe(true);
    await call(gh, root, 'PATCH', '/tenants/users-b', { security_policy: { password: { min_length: 8 } } });
  });

  it('refuses common passwords and ones made of the user on create and set, through the one acceptance function', async () => {
    const breached = await call(gh, root, 'POST', users('users-b'), { username: 'policy-quinn', password: 'Password123!' });
    expect400(breached, 'password');
    expect(breached.body.error_description).toContain('most common');
    expect(breached.body.error_description).toContain('(breached)');
    expect(await gh.app.users.findByIdentifier('users-b', 'policy-quinn')).toBeNull();
    const own = await call(gh, root, 'POST', users('users-b'), { username: 'policy-quinn', email: 'quinn.harper@example.com', password: 'QuinnHarper2024' });
    expect400(own, 'password');
    expect(own.body.error_description).toContain('(like_identity)');
    const created = await call(gh, root, 'POST', users('users-b'), { username: 'policy-quinn', name: 'Quinn Harper', password: 'eleven moons over kestrels' });
    expect(created.status).toBe(201);
    const path = `${users('users-b')}/${String(created.body['id'])}/password`;
    expect400(await call(gh, root, 'PUT', path, { password: 'qwerty123456' }), 'password');
    expect400(await call(gh, root, 'PUT', path, { password: 'harper-1975' }), 'password');
    expect((await call(gh, root, 'PUT', path, { password: 'violet kestrel under moons' })).status).toBe(200);
  });
});

describe('users: bad input writes nothing', () => {
  it('rejects unknown and read-only fields, wrong types, oversize strings, operators and duplicates on create', async () => {
    const before = (await allUsers('users-a')).length;
    const valid = { username: 'carol' };
    for (const field of ['id', 'created_at', 'updated_at', 'password_hash', 'passwordHash', 'has_password', 'roles', 'tenant', 'nickname']) {
      const result = await call(gh, root, 'POST', users('users-a'), { ...valid, [field]: 'x' });
      expect400(result, field);
    }
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ username: 42 }, 'username'],
      [{ username: '' }, 'username'],
      [{ username: 'has space' }, 'username'],
      [{ username: 'x'.repeat(129) }, 'username'],
      [{ ...valid, email: 'not-an-address' }, 'email'],
      [{ ...valid, email: `${'x'.repeat(250)}@example.com` }, 'email'],
      [{ ...valid, email_verified: 'yes' }, 'email_verified'],
      [{ ...valid, email_verified: true }, 'email_verified'],
      [{ ...valid, phone: '555-0100' }, 'phone'],
      [{ ...valid, phone_verified: true }, 'phone_verified'],
      [{ ...valid, given_name: 'x'.repeat(101) }, 'given_name'],
      [{ ...valid, name: 'line\nbreak' }, 'name'],
      [{ ...valid, disabled: 'no' }, 'disabled'],
      [{ ...valid, password: 12345678 }, 'password'],
      [{ ...valid, password: 'short' }, 'password'],
      [{ ...valid, password: 'x'.repeat(1025) }, 'password'],
      [{ ...valid, password_must_change: true }, 'password_must_change'],
      [{ username: ['carol'] }, 'username'],
    ];
    for (const [body, field] of bad) expect400(await call(gh, root, 'POST', users('users-a'), body), field);
    // Query operators never reach the store, at the top level or nested.
    expect((await call(gh, root, 'POST', users('users-a'), { username: { $ne: null } })).status).toBe(400);
    expect((await call(gh, root, 'POST', users('users-a'), { username: 'carol', email: { $gt: '' } })).status).toBe(400);
    expect((await call(gh, root, 'POST', users('users-a'), '{"username": "carol",')).status).toBe(400);
    expect((await call(gh, root, 'POST', users('users-a'), { username: 'carol', name: 'x'.repeat(200_000) })).status).toBe(413);
    expect(await allUsers('users-a')).toHaveLength(before);

    // Duplicates: the username in any case or width, or the e-mail address in any case.
    const duplicateName = await call(gh, root, 'POST', users('users-a'), { username: 'ALICE' });
    expect(duplicateName.status).toBe(409);
    expect(duplicateName.body.error).toBe('conflict');
    expect((await call(gh, root, 'POST', users('users-a'), { username: 'alice2', email: 'Alice@Example.com' })).status).toBe(409);
    expect(await allUsers('users-a')).toHaveLength(before);
    // The same username in another tenant is fine.
    expect((await call(gh, root, 'POST', users('users-b'), { username: 'alice-twin', email: 'alice@example.org' })).status).toBe(201);
  });

  it('rejects bad PATCH, password, disable and list input, changing nothing', async () => {
    const created = await call(gh, root, 'POST', users('users-a'), { username: 'dave', email: 'dave@example.com', email_verified: true, password: 'dave password 1' });
    const path = `${users('users-a')}/${created.body['id']}`;
    const snapshot = await gh.app.users.findById('users-a', String(created.body['id']));
    for (const field of ['id', 'created_at', 'password_hash', 'password', 'disabled', 'roles', 'has_password']) {
      expect400(await call(gh, root, 'PATCH', path, { [field]: field === 'disabled' ? true : 'x' }), field);
    }
    expect400(await call(gh, root, 'PATCH', path, { username: null }), 'username');
    expect400(await call(gh, root, 'PATCH', path, { email: 42 }), 'email');
    expect400(await call(gh, root, 'PATCH', path, { email: null, email_verified: true }), 'email_verified');
    expect400(await call(gh, root, 'PATCH', path, { family_name: 'x'.repeat(101) }), 'family_name');
    expect((await call(gh, root, 'PATCH', path, { username: { $ne: 'x' } })).status).toBe(400);
    expect((await call(gh, root, 'PATCH', path, { username: 'alice' })).status).toBe(409);
    expect((await call(gh, root, 'PATCH', path, { email: 'ALICE@example.com' })).status).toBe(409);

    expect400(await call(gh, root, 'PUT', `${path}/password`, { password: 'new password 1', must_change: 'yes' }), 'must_change');
    expect400(await call(gh, root, 'PUT', `${path}/password`, { password: 'new password 1', password_hash: '$argon2id$x' }), 'password_hash');
    expect400(await call(gh, root, 'PUT', `${path}/password`, {}), 'password');
    expect((await call(gh, root, 'PUT', `${path}/password`, { password: { $ne: null } })).status).toBe(400);
    expect((await call(gh, root, 'POST', `${path}/disable`, { disabled: true })).status).toBe(400);
    expect((await call(gh, root, 'GET', `${users('users-a')}/not a valid id!`)).status).toBe(400);
    expect(await gh.app.users.findById('users-a', String(created.body['id']))).toEqual(snapshot);

    for (const query of ['username[$ne]=x', 'username=a&username=b', 'email[$regex]=.*', 'q=', `q=${'x'.repeat(101)}`, 'limit=0', 'limit=101', 'limit=ten', 'sort=username', 'tenant=users-b']) {
      const result = await call(gh, root, 'GET', `${users('users-a')}?${query}`);
      expect(result.status, query).toBe(400);
    }
  });
});

describe('users: search and paging', () => {
  it('walks every page once, searches by a case-insensitive prefix and filters by exact values', async () => {
    for (let i = 0; i < 25; i += 1) {
      const n = String(i).padStart(2, '0');
      const result = await call(gh, root, 'POST', users('users-b'), { username: `pager-${n}`, email: `pager${n}@paging.example`, phone: `+1444555${n}00` });
      expect(result.status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const result: ApiResponse = await call(gh, root, 'GET', `${users('users-b')}?q=PAGER-&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(result.status).toBe(200);
      expect(result.body.items!.length).toBeLessThanOrEqual(7);
      seen.push(...result.body.items!.map((item) => String(item['username'])));
      result.body.items!.forEach(expectNoSecrets);
      cursor = result.body['next_cursor'] as string | null;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(4);
    expect(new Set(seen).size).toBe(25);
    expect([...seen].sort()).toEqual(Array.from({ length: 25 }, (_, i) => `pager-${String(i).padStart(2, '0')}`));

    // Default page size is 20, the cap is 100.
    expect((await call(gh, root, 'GET', `${users('users-b')}?q=pager`)).body.items).toHaveLength(20);
    expect((await call(gh, root, 'GET', `${users('users-b')}?q=pager&limit=100`)).body.items).toHaveLength(25);
    expect((await call(gh, root, 'GET', `${users('users-b')}?q=Pager07`)).body.items!.map((item) => item['username'])).toEqual(['pager-07']);
    expect((await call(gh, root, 'GET', `${users('users-b')}?q=${encodeURIComponent('+144455512')}`)).body.items!.map((item) => item['username'])).toEqual(['pager-12']);
    expect((await call(gh, root, 'GET', `${users('users-b')}?username=PAGER-03`)).body.items!.map((item) => item['username'])).toEqual(['pager-03']);
    expect((await call(gh, root, 'GET', `${users('users-b')}?email=Pager04@paging.example`)).body.items!.map((item) => item['username'])).toEqual(['pager-04']);
    expect((await call(gh, root, 'GET', `${users('users-b')}?phone=${encodeURIComponent('+14445550500')}`)).body.items!.map((item) => item['username'])).toEqual(['pager-05']);
    expect((await call(gh, root, 'GET', `${users('users-b')}?username=pager`)).body.items).toHaveLength(0);
    // Search text is literal, never a pattern: `.*` and `pager-0.` match nothing.
    expect((await call(gh, root, 'GET', `${users('users-b')}?q=${encodeURIComponent('.*')}`)).body.items).toHaveLength(0);
    expect((await call(gh, root, 'GET', `${users('users-b')}?q=${encodeURIComponent('pager-0.')}`)).body.items).toHaveLength(0);
    // Another tenant's users never appear.
    expect((await call(gh, root, 'GET', `${users('users-a')}?q=pager`)).body.items).toHaveLength(0);
  });
});

describe('users: tenant admins', () => {
  it('manage their own tenant’s users, and another tenant’s are 403 by path and 404 by id', async () => {
    const own = await call(gh, aAdmin, 'POST', users('users-a'), { username: 'erin', password: 'erin password 1' });
    expect(own.status).toBe(201);
    expect((await call(gh, aAdmin, 'GET', `${users('users-a')}?q=erin`)).body.items).toHaveLength(1);
    const events = await gh.app.audit.list('users-a', { type: 'user.created', actor: 'a-ops', limit: 10 });
    expect(events[0]?.actor).toEqual({ type: 'client', id: 'a-ops', tenant: 'users-a' });

    const bUser = `${users('users-b')}/${b.userId}`;
    const before = await gh.app.users.findById('users-b', b.userId);
    const countB = (await allUsers('users-b')).length;
    const viaPath: Array<[string, string, unknown?]> = [
      ['GET', users('users-b')],
      ['POST', users('users-b'), { username: 'intruder' }],
      ['GET', bUser],
      ['PATCH', bUser, { name: 'Owned' }],
      ['POST', `${bUser}/disable`],
      ['PUT', `${bUser}/password`, { password: 'owned password 1' }],
      ['DELETE', `${bUser}/password`],
      ['DELETE', bUser],
    ];
    for (const [method, path, body] of viaPath) {
      const result = await call(gh, aAdmin, method, path, body);
      expect(result.status, `${method} ${path}`).toBe(403);
      expect(JSON.stringify(result.body)).not.toContain('alice@example.com');
    }
    // B's user id under A's path is simply not there.
    const aPath = `${users('users-a')}/${b.userId}`;
    for (const [method, path, body] of [['GET', aPath], ['PATCH', aPath, { name: 'Owned' }], ['POST', `${aPath}/disable`], ['POST', `${aPath}/enable`], ['PUT', `${aPath}/password`, { password: 'owned password 1' }], ['DELETE', `${aPath}/password`], ['DELETE', aPath]] as Array<[string, string, unknown?]>) {
      expect((await call(gh, aAdmin, method, path, body)).status, `${method} ${path}`).toBe(404);
      expect((await call(gh, root, method, path, body)).status, `root ${method} ${path}`).toBe(404);
    }
    // Neither a query parameter nor a header moves the request to another tenant.
    expect((await call(gh, aAdmin, 'GET', `${users('users-a')}?tenant=users-b`)).status).toBe(400);
    const viaHeader = await call(gh, aAdmin, 'GET', `${users('users-a')}?username=alice`, undefined, { 'x-tenant': 'users-b' });
    expect(viaHeader.body.items!.map((item) => item['id'])).toEqual([a.userId]);
    expect(await gh.app.users.findById('users-b', b.userId)).toEqual(before);
    expect(await allUsers('users-b')).toHaveLength(countB);
  });

  it('need the write scope to change users', async () => {
    const reader = await adminToken(gh, { scope: 'admin:users:read' });
    expect((await call(gh, reader, 'GET', `${users('users-a')}/${a.userId}`)).status).toBe(200);
    const denied = await call(gh, reader, 'PATCH', `${users('users-a')}/${a.userId}`, { name: 'Nope' });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('insufficient_scope');
    expect((await call(gh, reader, 'POST', users('users-a'), { username: 'nope' })).status).toBe(403);
    const writerOnly = await adminToken(gh, { scope: 'admin:users:write' });
    expect((await call(gh, writerOnly, 'GET', users('users-a'))).status).toBe(403);
    expect((await gh.app.users.findById('users-a', a.userId))?.name).toBeUndefined();
    expect(await gh.app.users.findByIdentifier('users-a', 'nope')).toBeNull();
  });
});

describe('users: sign-in consequences', () => {
  it('disabling a user stops their refresh token and their sign-in; removing the password stops password sign-in', async () => {
    const rp = await relyingParty(gh, 'users-a', a.client.clientId, a.client.clientSecret);
    const { callback, verifier, state } = await authorize(new Browser(gh.origin), rp, { redirectUri: a.client.redirectUri });
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);

    expect((await call(gh, aAdmin, 'POST', `${users('users-a')}/${a.userId}/disable`)).status).toBe(200);
    await expect(client.refreshTokenGrant(rp, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await signInPage(rp, a.client.redirectUri, 'alice', TEST_PASSWORD)).status).toBe(401);
    await call(gh, aAdmin, 'POST', `${users('users-a')}/${a.userId}/enable`);

    const carl = await call(gh, aAdmin, 'POST', users('users-a'), { username: 'carl', password: 'carl password 1' });
    await call(gh, aAdmin, 'DELETE', `${users('users-a')}/${carl.body['id']}/password`);
    expect((await signInPage(rp, a.client.redirectUri, 'carl', 'carl password 1')).status).toBe(401);
  });
});

/** Opens the login page of a fresh authorization request. */
async function loginPage(rp: client.Configuration, redirectUri: string) {
  const browser = new Browser(gh.origin);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: redirectUri,
    scope: 'openid profile offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    prompt: 'consent',
  });
  return { browser, verifier, state, page: expectPage(await browser.navigate(url.href, {}, redirectUri)) };
}

/** Submits the login form; returns the page the browser lands on. */
async function signInPage(rp: client.Configuration, redirectUri: string, username: string, password: string): Promise<Page> {
  const { browser, page } = await loginPage(rp, redirectUri);
  return expectPage(await browser.submit(page, 'form[action$="/password"]', { username, password }, redirectUri));
}

describe('must change password at next sign-in', () => {
  it('makes the user choose a new password through the real forms before the login finishes', async () => {
    const rp = await relyingParty(gh, 'users-a', a.client.clientId, a.client.clientSecret);
    const created = await call(gh, aAdmin, 'POST', users('users-a'), { username: 'frank', email: 'frank@example.com' });
    const id = String(created.body['id']);
    const set = await call(gh, aAdmin, 'PUT', `${users('users-a')}/${id}/password`, { password: 'temporary pw 1', must_change: true });
    expect(set.body['password_must_change']).toBe(true);

    const { browser, page: login, verifier, state } = await loginPage(rp, a.client.redirectUri);
    let page = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'frank', password: 'temporary pw 1' }, a.client.redirectUri));
    expect(page.$('h1').text()).toContain('Choose a new password');
    expect(page.$('form[action$="/change-password"]')).toHaveLength(1);
    expect(page.$('input[name="new_password"]').attr('autocomplete')).toBe('new-password');

    // The login form of this interaction is no longer accepted, nor is the step without its CSRF token.
    expect((await browser.submit(login, 'form[action$="/password"]', { username: 'frank', password: 'temporary pw 1' }, a.client.redirectUri) as Page).status).toBe(400);
    expect((await browser.submit(page, 'form[action$="/change-password"]', { csrf: 'forged', new_password: 'a brand new pw', confirm_password: 'a brand new pw' }) as Page).status).toBe(403);

    const attempts: Array<[Record<string, string>, string, RegExp]> = [
      [{ new_password: 'a brand new pw', confirm_password: 'a brand new pX' }, 'confirm_password', /do not match/],
      [{ new_password: 'short', confirm_password: 'short' }, 'new_password', /at least 8/],
      [{ new_password: 'Baseball2024!', confirm_password: 'Baseball2024!' }, 'new_password', /most common .*choose another/],
      [{ new_password: 'Frank1999!', confirm_password: 'Frank1999!' }, 'new_password', /username, e-mail address or name/],
      [{ new_password: 'x'.repeat(1025), confirm_password: 'x'.repeat(1025) }, 'new_password', /at most 1024/],
      [{ new_password: 'temporary pw 1', confirm_password: 'temporary pw 1' }, 'new_password', /different/],
    ];
    for (const [fields, field, message] of attempts) {
      page = expectPage(await browser.submit(page, 'form[action$="/change-password"]', fields, a.client.redirectUri));
      expect(page.status).toBe(400);
      expect(page.$(`#${field}-error`).text()).toMatch(message);
      expect(page.$(`input[name="${field}"]`).attr('aria-invalid')).toBe('true');
      // Typed passwords are never echoed back into the page.
      expect(page.html).not.toContain(fields['new_password']);
    }
    expect((await gh.app.users.findById('users-a', id))?.passwordMustChange).toBe(true);

    const consent = expectPage(await browser.submit(page, 'form[action$="/change-password"]', { new_password: 'a brand new pw', confirm_password: 'a brand new pw' }, a.client.redirectUri));
    const callback = expectRedirect(await browser.submit(consent, 'form[action$="/consent"]', {}, a.client.redirectUri));
    const tokens = await client.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()).toMatchObject({ sub: id, amr: ['pwd'] });
    expect((await client.fetchUserInfo(rp, tokens.access_token, id))['preferred_username']).toBe('frank');

    const after = await call(gh, aAdmin, 'GET', `${users('users-a')}/${id}`);
    expect(after.body).toMatchObject({ has_password: true, password_must_change: false });
    expect(await auditTypes('users-a', id)).toContain('user.password_changed');
    expectNoSecrets((await gh.app.audit.list('users-a', { type: 'user.password_changed', limit: 10 })));

    expect((await signInPage(rp, a.client.redirectUri, 'frank', 'temporary pw 1')).status).toBe(401);
    const again = await authorize(new Browser(gh.origin), rp, { redirectUri: a.client.redirectUri, username: 'frank', password: 'a brand new pw' });
    expect(again.callback.searchParams.get('code')).toBeTruthy();
  });

  it('starts the sign-in again when an admin disables the user half way', async () => {
    const rp = await relyingParty(gh, 'users-a', a.client.clientId, a.client.clientSecret);
    const created = await call(gh, aAdmin, 'POST', users('users-a'), { username: 'gina', password: 'temporary pw 2', password_must_change: true });
    const { browser, page: login } = await loginPage(rp, a.client.redirectUri);
    const change = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'gina', password: 'temporary pw 2' }, a.client.redirectUri));
    expect(change.$('form[action$="/change-password"]')).toHaveLength(1);
    await call(gh, aAdmin, 'POST', `${users('users-a')}/${created.body['id']}/disable`);
    const back = expectPage(await browser.submit(change, 'form[action$="/change-password"]', { new_password: 'gina new password', confirm_password: 'gina new password' }, a.client.redirectUri));
    expect(back.$('form[action$="/password"]')).toHaveLength(1);
    const stored = await gh.app.users.findById('users-a', String(created.body['id']));
    expect(stored?.passwordMustChange).toBe(true);
    expect((await gh.app.passwords.verify(stored?.passwordHash, 'temporary pw 2')).ok).toBe(true);
  });

  it('voids a half-done change when an admin resets the password again in between', async () => {
    const rp = await relyingParty(gh, 'users-a', a.client.clientId, a.client.clientSecret);
    const created = await call(gh, aAdmin, 'POST', users('users-a'), { username: 'hank', password: 'leaked temp pw', password_must_change: true });
    const { browser, page: login } = await loginPage(rp, a.client.redirectUri);
    const change = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'hank', password: 'leaked temp pw' }, a.client.redirectUri));
    expect(change.$('form[action$="/change-password"]')).toHaveLength(1);
    // The admin learns the temporary password leaked and sets another one, still to be changed.
    await call(gh, aAdmin, 'PUT', `${users('users-a')}/${created.body['id']}/password`, { password: 'second temp pw', must_change: true });
    const back = expectPage(await browser.submit(change, 'form[action$="/change-password"]', { new_password: 'attacker chosen', confirm_password: 'attacker chosen' }, a.client.redirectUri));
    expect(back.$('form[action$="/password"]')).toHaveLength(1);
    const stored = await gh.app.users.findById('users-a', String(created.body['id']));
    expect((await gh.app.passwords.verify(stored?.passwordHash, 'attacker chosen')).ok).toBe(false);
    expect((await gh.app.passwords.verify(stored?.passwordHash, 'second temp pw')).ok).toBe(true);
  });
});
