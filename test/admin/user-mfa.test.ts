import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { SoftAuthenticator } from '../helpers/soft-authenticator.js';
import { adminApi, adminToken, call, startAdminGatehouse, userAdminToken, type ApiResponse } from './helpers.js';

/**
 * The admin API of second factors (issue 9), for operators and for applications that run their
 * own enrolment UI: real HTTP, codes computed here with otplib's defaults from the secret in the
 * returned URI (an independent computation: SHA-1, 6 digits, 30 s).
 */

let gh: TestGatehouse;
let root: string;
let a: SeededTenant;
let b: SeededTenant;
/** a tenant admin of tenant A (admin:users:* through a role) */
let aAdmin: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  a = await seedTenant(gh, 'mfa-a');
  b = await seedTenant(gh, 'mfa-b');
  aAdmin = await userAdminToken(gh, 'mfa-a');
});
afterAll(() => gh.stop());

let serial = 0;
async function newUser(tenant = 'mfa-a'): Promise<string> {
  serial += 1;
  return (await gh.app.users.create(tenant, { username: `mfa-user-${serial}` }))._id;
}

const mfa = (tenant: string, userId: string) => `/tenants/${tenant}/users/${userId}/mfa`;

const codeFor = (secret: string, offsetSteps = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });

function secretOf(totpUri: unknown): string {
  return new URL(totpUri as string).searchParams.get('secret')!;
}

function expectError(result: ApiResponse, status: number, error: string): void {
  expect(result.status, JSON.stringify(result.body)).toBe(status);
  expect(result.body.error).toBe(error);
}

/** Starts enrolling an authenticator app through the API: the secret it shows and its verify path. */
async function startEnrolment(tenant: string, userId: string, name?: string): Promise<{ id: string; secret: string; verify: string }> {
  const started = await call(gh, root, 'POST', `${mfa(tenant, userId)}/totp`, name === undefined ? {} : { name });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  const id = String(started.body['enrollment_id']);
  return { id, secret: secretOf(started.body['totp_uri']), verify: `${mfa(tenant, userId)}/totp/${id}/verify` };
}

/** Starts and confirms an authenticator app through the API; returns its factor id and secret. */
async function enrol(tenant: string, userId: string, name = 'Phone'): Promise<{ id: string; secret: string }> {
  const { secret, verify } = await startEnrolment(tenant, userId, name);
  const verified = await call(gh, root, 'POST', verify, { code: await codeFor(secret) });
  expect(verified.status, JSON.stringify(verified.body)).toBe(200);
  const factors = await call(gh, root, 'GET', `${mfa(tenant, userId)}/factors`);
  return { id: String(factors.body.items!.find((factor) => factor['name'] === name)!['id']), secret };
}

async function auditTypes(tenant: string, userId: string): Promise<string[]> {
  const events = (await gh.app.audit.list(tenant, { limit: 100 })).filter((event) => event.target.id === userId);
  return events.map((event) => event.type);
}

describe('enrolment through the admin API', () => {
  it('enrols an authenticator app end to end, lists factors without secrets, and audits every change', async () => {
    const userId = await newUser();
    const started = await call(gh, aAdmin, 'POST', `${mfa('mfa-a', userId)}/totp`, { name: 'Work phone' });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(Object.keys(started.body).sort()).toEqual(['enrollment_id', 'qr_code', 'totp_uri']);
    expect(started.body['qr_code']).toMatch(/^data:image\/png;base64,/);
    const uri = new URL(started.body['totp_uri'] as string);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('issuer')).toBe('Tenant mfa-a');
    const secret = secretOf(started.body['totp_uri']);
    expect(secret).toMatch(/^[A-Z2-7]{32,}$/);
    // Not a factor until a code confirms it.
    expect((await call(gh, aAdmin, 'GET', `${mfa('mfa-a', userId)}/factors`)).body.items).toEqual([]);

    const verify = `${mfa('mfa-a', userId)}/totp/${String(started.body['enrollment_id'])}/verify`;
    expect(await call(gh, aAdmin, 'POST', verify, { code: await codeFor(secret) })).toMatchObject({ status: 200, body: { verified: true } });
    const listed = await call(gh, aAdmin, 'GET', `${mfa('mfa-a', userId)}/factors`);
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([{ id: expect.any(String) as string, type: 'totp', name: 'Work phone', created_at: expect.any(String) as string, last_used_at: null }]);

    const codes = await call(gh, aAdmin, 'POST', `${mfa('mfa-a', userId)}/recovery-codes`);
    expect(codes.status).toBe(200);
    expect(codes.body['codes']).toHaveLength(10);
    const withCodes = await call(gh, aAdmin, 'GET', `${mfa('mfa-a', userId)}/factors`);
    expect(withCodes.body.items!.map((factor) => [factor['type'], factor['remaining']])).toEqual([
      ['totp', undefined],
      ['recovery_codes', 10],
    ]);

    // Secrets appear in the enrolment response only: never in a list or an audit event.
    const audit = JSON.stringify(await gh.app.audit.list('mfa-a', { limit: 100 }));
    for (const text of [JSON.stringify(withCodes.body), audit]) {
      expect(text).not.toContain(secret);
      for (const code of codes.body['codes'] as string[]) expect(text).not.toContain(code);
    }

    const totpId = String(listed.body.items![0]!['id']);
    expect((await call(gh, aAdmin, 'DELETE', `${mfa('mfa-a', userId)}/factors/${totpId}`)).status).toBe(204);
    expect((await call(gh, aAdmin, 'GET', `${mfa('mfa-a', userId)}/factors`)).body.items!.map((factor) => factor['type'])).toEqual(['recovery_codes']);
    expect((await call(gh, aAdmin, 'DELETE', `${mfa('mfa-a', userId)}/factors`)).status).toBe(204);
    expect((await call(gh, aAdmin, 'GET', `${mfa('mfa-a', userId)}/factors`)).body.items).toEqual([]);
    expect(await auditTypes('mfa-a', userId)).toEqual(['mfa.factors_reset', 'mfa.factor_removed', 'mfa.recovery_codes_generated', 'mfa.factor_enrolled']);
  });

  it('confirms with a wrong code: invalid_totp_code (400), the enrolment stays open; a confirmed enrolment is gone (404)', async () => {
    const userId = await newUser();
    const { secret, verify } = await startEnrolment('mfa-a', userId);
    const right = await codeFor(secret);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    expectError(await call(gh, root, 'POST', verify, { code: wrong }), 400, 'invalid_totp_code');
    // A code of two steps ago is outside the window.
    expectError(await call(gh, root, 'POST', verify, { code: await codeFor(secret, -2) }), 400, 'invalid_totp_code');
    expect((await call(gh, root, 'POST', verify, { code: right })).status).toBe(200);
    expectError(await call(gh, root, 'POST', verify, { code: right }), 404, 'enrollment_not_found');
    expect((await call(gh, root, 'GET', `${mfa('mfa-a', userId)}/factors`)).body.items).toHaveLength(1);
  });

  it('confirms one enrolment once when one code is posted in 10 parallel requests', async () => {
    const userId = await newUser();
    const { secret, verify } = await startEnrolment('mfa-a', userId);
    const code = await codeFor(secret);
    const results = await Promise.all(Array.from({ length: 10 }, () => call(gh, root, 'POST', verify, { code })));
    expect(results.filter((result) => result.status === 200)).toHaveLength(1);
    // The others found no enrolment left, or were held back by the throttle's in-flight bound.
    for (const result of results.filter((each) => each.status !== 200)) expect(['enrollment_not_found', 'mfa_rate_limited']).toContain(result.body.error);
    expect((await call(gh, root, 'GET', `${mfa('mfa-a', userId)}/factors`)).body.items).toHaveLength(1);
  });

  it('throttles wrong codes per user: past the free failures the answer is mfa_rate_limited (429) with Retry-After, even for the right code', async () => {
    const userId = await newUser();
    const { secret, verify } = await startEnrolment('mfa-a', userId);
    const right = await codeFor(secret);
    const wrong = String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');
    for (let attempt = 0; attempt < 5; attempt += 1) expectError(await call(gh, root, 'POST', verify, { code: wrong }), 400, 'invalid_totp_code');
    const limited = await call(gh, root, 'POST', verify, { code: right });
    expectError(limited, 429, 'mfa_rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user's budget is their own.
    const other = await newUser();
    const others = await startEnrolment('mfa-a', other);
    expect((await call(gh, root, 'POST', others.verify, { code: await codeFor(others.secret) })).status).toBe(200);
  });

  it('regenerating recovery codes voids the old set: one recovery-code factor with 10 codes left', async () => {
    const userId = await newUser();
    const first = await call(gh, root, 'POST', `${mfa('mfa-a', userId)}/recovery-codes`);
    const second = await call(gh, root, 'POST', `${mfa('mfa-a', userId)}/recovery-codes`);
    expect((second.body['codes'] as string[]).some((code) => (first.body['codes'] as string[]).includes(code))).toBe(false);
    expect(await gh.app.mfa.recoveryCodes.use('mfa-a', userId, (first.body['codes'] as string[])[0]!)).toBe(false);
    expect(await gh.app.mfa.recoveryCodes.use('mfa-a', userId, (second.body['codes'] as string[])[0]!)).toBe(true);
    expect((await call(gh, root, 'GET', `${mfa('mfa-a', userId)}/factors`)).body.items!.map((factor) => factor['remaining'])).toEqual([9]);
  });
});

describe('removing factors', () => {
  it('refuses to remove the last authenticator while the tenant requires MFA (mfa_last_factor, 409)', async () => {
    await gh.app.tenants.create({ id: 'mfa-required', displayName: 'Required' });
    await gh.app.tenants.update('mfa-required', { securityPolicy: { mfa: 'required' } });
    const userId = await newUser('mfa-required');
    const phone = await enrol('mfa-required', userId, 'Phone');
    await call(gh, root, 'POST', `${mfa('mfa-required', userId)}/recovery-codes`);
    expectError(await call(gh, root, 'DELETE', `${mfa('mfa-required', userId)}/factors/${phone.id}`), 409, 'mfa_last_factor');
    expectError(await call(gh, root, 'DELETE', `${mfa('mfa-required', userId)}/factors`), 409, 'mfa_last_factor');
    expect((await call(gh, root, 'GET', `${mfa('mfa-required', userId)}/factors`)).body.items).toHaveLength(2);
    // With a second authenticator the first may go.
    await enrol('mfa-required', userId, 'Tablet');
    expect((await call(gh, root, 'DELETE', `${mfa('mfa-required', userId)}/factors/${phone.id}`)).status).toBe(204);
    expect(await auditTypes('mfa-required', userId)).not.toContain('mfa.factors_reset');
  });

  it('keeps one authenticator when a user’s last two are removed in parallel while the tenant requires MFA', async () => {
    await gh.app.tenants.create({ id: 'mfa-race', displayName: 'Race' });
    await gh.app.tenants.update('mfa-race', { securityPolicy: { mfa: 'required' } });
    for (let round = 0; round < 5; round += 1) {
      const userId = await newUser('mfa-race');
      const apps = [await enrol('mfa-race', userId, 'Phone'), await enrol('mfa-race', userId, 'Tablet')];
      const answers = await Promise.all(apps.map((app) => call(gh, root, 'DELETE', `${mfa('mfa-race', userId)}/factors/${app.id}`)));
      expect(answers.filter((answer) => answer.status === 204)).toHaveLength(1);
      for (const answer of answers.filter((candidate) => candidate.status !== 204)) expect([409]).toContain(answer.status);
      const left = (await gh.app.mfa.factors.list('mfa-race', userId)).filter((factor) => factor.type === 'totp');
      expect(left).toHaveLength(1);
    }
  });

  it('answers 404 for an unknown factor, another user’s factor and another tenant’s user; 400 for a malformed id', async () => {
    const alice = await newUser();
    const bob = await newUser();
    const bobs = await enrol('mfa-a', bob);
    expectError(await call(gh, root, 'DELETE', `${mfa('mfa-a', alice)}/factors/${bobs.id}`), 404, 'not_found');
    expectError(await call(gh, root, 'DELETE', `${mfa('mfa-a', alice)}/factors/00000000-0000-0000-0000-000000000000`), 404, 'not_found');
    expectError(await call(gh, root, 'DELETE', `${mfa('mfa-a', alice)}/factors/${'x'.repeat(200)}`), 400, 'invalid_request');
    expectError(await call(gh, root, 'DELETE', `${mfa('mfa-a', alice)}/factors/a%3Ab`), 400, 'invalid_request');
    // Bob's factor is untouched.
    expect((await call(gh, root, 'GET', `${mfa('mfa-a', bob)}/factors`)).body.items).toHaveLength(1);
    // Tenant B's user through tenant A's path, and an unknown user.
    expectError(await call(gh, root, 'GET', `${mfa('mfa-a', b.userId)}/factors`), 404, 'user_not_found');
    expectError(await call(gh, root, 'DELETE', `${mfa('mfa-a', b.userId)}/factors`), 404, 'user_not_found');
    expectError(await call(gh, root, 'POST', `${mfa('mfa-a', 'no-such-user')}/totp`, {}), 404, 'user_not_found');
    expectError(await call(gh, root, 'POST', `${mfa('mfa-a', 'no-such-user')}/recovery-codes`), 404, 'user_not_found');
  });
});

describe('passwords and deleting the user', () => {
  it('keeps the factors when an admin sets or removes the password', async () => {
    const userId = await newUser();
    await enrol('mfa-a', userId);
    expect((await call(gh, root, 'PUT', `/tenants/mfa-a/users/${userId}/password`, { password: 'a new long password', must_change: true })).status).toBe(200);
    expect((await call(gh, root, 'DELETE', `/tenants/mfa-a/users/${userId}/password`)).status).toBe(204);
    expect((await call(gh, root, 'GET', `${mfa('mfa-a', userId)}/factors`)).body.items).toHaveLength(1);
  });

  it('deletes their factors with them', async () => {
    const userId = await newUser();
    await enrol('mfa-a', userId);
    await call(gh, root, 'POST', `${mfa('mfa-a', userId)}/recovery-codes`);
    expect(await gh.app.store.collection('mfa_factors').count({ userId })).toBe(2);
    expect((await call(gh, root, 'DELETE', `/tenants/mfa-a/users/${userId}`)).status).toBe(204);
    expect(await gh.app.store.collection('mfa_factors').count({ userId })).toBe(0);
    expectError(await call(gh, root, 'GET', `${mfa('mfa-a', userId)}/factors`), 404, 'user_not_found');
  });
});

describe('hostile input and access', () => {
  it('refuses missing, non-string, oversized and extra fields, and long names', async () => {
    const userId = await newUser();
    const { secret, verify } = await startEnrolment('mfa-a', userId);
    for (const body of [{}, { code: 123456 }, { code: null }, { code: ['123456'] }, { code: '1'.repeat(10_000) }, { code: '123456', extra: true }]) {
      expectError(await call(gh, root, 'POST', verify, body), 400, 'invalid_request');
    }
    expectError(await call(gh, root, 'POST', verify, 'not json'), 400, 'invalid_request');
    expectError(await call(gh, root, 'POST', `${mfa('mfa-a', userId)}/totp`, { name: 'x'.repeat(65) }), 400, 'invalid_request');
    expectError(await call(gh, root, 'POST', `${mfa('mfa-a', userId)}/totp`, { name: 'a\u0007b' }), 400, 'invalid_request');
    expectError(await call(gh, root, 'POST', `${mfa('mfa-a', userId)}/totp`, { secret: 'JBSWY3DPEHPK3PXP' }), 400, 'invalid_request');
    expectError(await call(gh, root, 'POST', `${mfa('mfa-a', userId)}/recovery-codes`, { count: 1000 }), 400, 'invalid_request');
    // Malformed input is not charged as a wrong code: the right code still confirms.
    expect((await call(gh, root, 'POST', verify, { code: await codeFor(secret) })).status).toBe(200);
  });

  it('finds no enrolment of another user or under another tenant', async () => {
    const alice = await newUser();
    const bob = await newUser();
    const { id, secret } = await startEnrolment('mfa-a', alice);
    const code = await codeFor(secret);
    expectError(await call(gh, root, 'POST', `${mfa('mfa-a', bob)}/totp/${id}/verify`, { code }), 404, 'enrollment_not_found');
    expectError(await call(gh, root, 'POST', `${mfa('mfa-a', alice)}/totp/AAAAAAAAAAAAAAAAAAAAAA/verify`, { code }), 404, 'enrollment_not_found');
    expectError(await call(gh, root, 'POST', `${mfa('mfa-b', b.userId)}/totp/${id}/verify`, { code }), 404, 'enrollment_not_found');
    expect((await call(gh, root, 'POST', `${mfa('mfa-a', alice)}/totp/${id}/verify`, { code })).status).toBe(200);
  });

  it('keeps a tenant admin to their tenant and needs the users scopes', async () => {
    expectError(await call(gh, aAdmin, 'GET', `${mfa('mfa-b', b.userId)}/factors`), 403, 'forbidden');
    expectError(await call(gh, aAdmin, 'POST', `${mfa('mfa-b', b.userId)}/totp`, {}), 403, 'forbidden');
    expectError(await call(gh, aAdmin, 'DELETE', `${mfa('mfa-b', b.userId)}/factors`), 403, 'forbidden');
    const reader = await adminToken(gh, { scope: 'admin:users:read' });
    expect((await call(gh, reader, 'GET', `${mfa('mfa-a', a.userId)}/factors`)).status).toBe(200);
    expectError(await call(gh, reader, 'POST', `${mfa('mfa-a', a.userId)}/totp`, {}), 403, 'insufficient_scope');
    expectError(await call(gh, reader, 'POST', `${mfa('mfa-a', a.userId)}/recovery-codes`), 403, 'insufficient_scope');
    expectError(await call(gh, reader, 'DELETE', `${mfa('mfa-a', a.userId)}/factors`), 403, 'insufficient_scope');
    expectError(await call(gh, undefined, 'GET', `${mfa('mfa-a', a.userId)}/factors`), 401, 'invalid_token');
  });

  it('documents every operation and its error codes in the OpenAPI document', async () => {
    const openapi = (await (await fetch(`${adminApi(gh)}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>> };
    const base = '/tenants/{tenant}/users/{id}/mfa';
    expect(Object.keys(openapi.paths[`${base}/factors`]!).sort()).toEqual(['delete', 'get']);
    expect(Object.keys(openapi.paths[`${base}/factors/{factorId}`]!)).toEqual(['delete']);
    expect(openapi.paths[`${base}/factors/{factorId}`]!['delete']!.responses['409']!.description).toContain('mfa_last_factor');
    const verify = openapi.paths[`${base}/totp/{enrollment_id}/verify`]!['post']!.responses;
    expect(verify['400']!.description).toContain('invalid_totp_code');
    expect(verify['404']!.description).toContain('enrollment_not_found');
    expect(verify['404']!.description).toContain('user_not_found');
    expect(verify['429']!.description).toContain('mfa_rate_limited');
    expect(Object.keys(openapi.paths[`${base}/totp`]!)).toEqual(['post']);
    expect(Object.keys(openapi.paths[`${base}/recovery-codes`]!)).toEqual(['post']);
  });
});

describe('passkeys through the admin API', () => {
  /** A passkey registered as the user's browser would (the admin API lists and removes, never registers). */
  async function registerPasskey(tenant: string, userId: string, options: { backupEligible?: boolean } = {}): Promise<string> {
    const settings = (await gh.app.tenants.find(tenant))!;
    const started = await gh.app.mfa.webauthn.startRegistration(settings, userId, { bindTo: 'test' });
    const response = new SoftAuthenticator().createCredential(started.options, { origin: gh.app.mfa.webauthn.relyingParty(settings).origin, backupEligible: options.backupEligible ?? false, backedUp: options.backupEligible ?? false });
    return (await gh.app.mfa.webauthn.finishRegistration(settings, userId, { registrationId: started.registrationId, bindTo: 'test', response, name: 'Laptop' })).id;
  }

  it('lists passkeys without their credential id, public key or user handle, and removes one (audited)', async () => {
    const userId = await newUser();
    const passkey = await registerPasskey('mfa-a', userId, { backupEligible: true });
    const listed = await call(gh, root, 'GET', `${mfa('mfa-a', userId)}/factors`);
    expect(listed.body.items).toEqual([{ id: passkey, type: 'webauthn', name: 'Laptop', created_at: expect.any(String), last_used_at: null, transports: ['internal'], backed_up: true }]);
    const [stored] = await gh.app.mfa.webauthnCredentials.ofUser('mfa-a', userId);
    for (const secretish of [stored!.credentialId, stored!.publicKey, stored!.userHandle]) expect(JSON.stringify(listed.body)).not.toContain(secretish);

    expect((await call(gh, root, 'DELETE', `${mfa('mfa-a', userId)}/factors/${passkey}`)).status).toBe(204);
    expect(await gh.app.mfa.webauthnCredentials.find('mfa-a', stored!.credentialId)).toBeNull();
    const [removed] = (await gh.app.audit.list('mfa-a', { type: 'mfa.factor_removed', limit: 10 })).filter((event) => event.target.id === userId);
    expect(removed?.before).toMatchObject({ id: passkey, type: 'webauthn' });
    expect(JSON.stringify(removed)).not.toContain(stored!.publicKey);
  });

  it('counts a passkey as an authenticator: the last one stays while the tenant requires MFA', async () => {
    await gh.app.tenants.create({ id: 'mfa-passkeys', displayName: 'Passkeys' });
    await gh.app.tenants.update('mfa-passkeys', { securityPolicy: { mfa: 'required' } });
    const userId = await newUser('mfa-passkeys');
    const passkey = await registerPasskey('mfa-passkeys', userId);
    await call(gh, root, 'POST', `${mfa('mfa-passkeys', userId)}/recovery-codes`);
    expectError(await call(gh, root, 'DELETE', `${mfa('mfa-passkeys', userId)}/factors/${passkey}`), 409, 'mfa_last_factor');
    expectError(await call(gh, root, 'DELETE', `${mfa('mfa-passkeys', userId)}/factors`), 409, 'mfa_last_factor');
    // Another tenant's admin finds no such user; with an authenticator app beside it, the passkey may go.
    expectError(await call(gh, aAdmin, 'DELETE', `${mfa('mfa-passkeys', userId)}/factors/${passkey}`), 403, 'forbidden');
    await enrol('mfa-passkeys', userId, 'Phone');
    expect((await call(gh, root, 'DELETE', `${mfa('mfa-passkeys', userId)}/factors/${passkey}`)).status).toBe(204);
  });

  it('documents the webauthn type in the OpenAPI document', async () => {
    const openapi = JSON.stringify(await (await fetch(`${adminApi(gh)}/openapi.json`)).json());
    expect(openapi).toContain('"webauthn"');
    expect(openapi).toContain('backed_up');
  });
});
