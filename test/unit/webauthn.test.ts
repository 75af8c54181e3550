import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../adapters/index.js';
import { StoreEphemeral } from '../../adapters/ephemeral-store.js';
import type { Store } from '../../adapters/store.js';
import { WebAuthnService } from '../../src/authn/webauthn.js';
import { AuditRepository } from '../../src/domain/audit.js';
import { MfaFactorRepository } from '../../src/domain/mfa-factors.js';
import { SecretBox } from '../../src/domain/secrets.js';
import { TenantRepository, type Tenant } from '../../src/domain/tenants.js';
import { UserRepository } from '../../src/domain/users.js';
import { WebAuthnCredentialRepository } from '../../src/domain/webauthn-credentials.js';
import type { AppError } from '../../src/errors.js';
import { appErrorOf } from '../helpers/app-error.js';
import { SoftAuthenticator, type CreateOptions } from '../helpers/soft-authenticator.js';

/**
 * The WebAuthn service through the real store (nedb in memory, with the application's indexes)
 * and the store-backed short-lived state, answered by the independent soft authenticator. Both
 * tenants are path tenants of one public URL, so they share the RP ID, as in production.
 */

const ORIGIN = 'http://localhost:3000';
let store: Store;
let users: UserRepository;
let factors: MfaFactorRepository;
let credentials: WebAuthnCredentialRepository;
let audit: AuditRepository;
let webauthn: WebAuthnService;
let acme: Tenant;
let umbrella: Tenant;

async function newUser(tenant = 'acme'): Promise<string> {
  return (await users.create(tenant, { username: `user-${randomBytes(4).toString('hex')}` }))._id;
}

/** Registers a new credential of `authenticator` for the user, as the console would. */
async function register(tenant: Tenant, userId: string, authenticator: SoftAuthenticator, options: Partial<CreateOptions> = {}, name?: string) {
  const bindTo = `console:${randomBytes(8).toString('hex')}`;
  const started = await webauthn.startRegistration(tenant, userId, { bindTo });
  const response = authenticator.createCredential(started.options, { origin: ORIGIN, ...options });
  const factor = await webauthn.finishRegistration(tenant, userId, { registrationId: started.registrationId, bindTo, response, ...(name ? { name } : {}) });
  return { factor, credentialId: response.id };
}

/** One sign-in ceremony: options for `bindTo`, the soft authenticator's answer, the verdict. */
async function authenticate(tenant: Tenant, authenticator: SoftAuthenticator, input: { userId?: string; requireUserVerification?: boolean; origin?: string; counter?: number; uv?: boolean; credentialId?: string; userHandle?: string | null } = {}) {
  const bindTo = `interaction:${randomBytes(8).toString('hex')}`;
  const { options } = await webauthn.startAuthentication(tenant, { bindTo, ...(input.userId ? { userId: input.userId } : {}) });
  const response = authenticator.getAssertion(options, {
    origin: input.origin ?? ORIGIN,
    ...(input.counter !== undefined ? { counter: input.counter } : {}),
    ...(input.uv !== undefined ? { uv: input.uv } : {}),
    ...(input.credentialId ? { credentialId: input.credentialId } : {}),
    ...(input.userHandle !== undefined ? { userHandle: input.userHandle } : {}),
  });
  const finish = () => webauthn.finishAuthentication(tenant, { bindTo, response, requireUserVerification: input.requireUserVerification ?? false, ...(input.userId ? { userId: input.userId } : {}) });
  return { verdict: await finish(), again: finish, response };
}

beforeAll(async () => {
  store = await openStore({ kind: 'memory', dataDir: '', mongodb: { database: 'unused' } });
  const tenants = new TenantRepository(store);
  factors = new MfaFactorRepository(store, new SecretBox(randomBytes(32)));
  credentials = new WebAuthnCredentialRepository(store);
  users = new UserRepository(store, [factors, credentials]);
  audit = new AuditRepository(store);
  webauthn = new WebAuthnService({ credentials, users, ephemeral: new StoreEphemeral(store, Date.now), audit, publicUrl: ORIGIN, clock: Date.now });
  acme = await tenants.create({ id: 'acme', displayName: 'Acme Corp' });
  umbrella = await tenants.create({ id: 'umbrella', displayName: 'Umbrella' });
});

afterAll(async () => {
  await store.close();
});

describe('relying party', () => {
  it('is the public URL host for path tenants (shared) and the custom host for a tenant with one', () => {
    expect(webauthn.relyingParty(acme)).toEqual({ rpId: 'localhost', rpName: 'Acme Corp', origin: ORIGIN });
    expect(webauthn.relyingParty(umbrella).rpId).toBe('localhost');
    expect(webauthn.relyingParty({ ...acme, customHost: 'login.acme.example' })).toEqual({ rpId: 'login.acme.example', rpName: 'Acme Corp', origin: 'http://login.acme.example:3000' });
  });
});

describe('registration', () => {
  it('stores a discoverable credential as a webauthn factor, with a random user handle per account', async () => {
    const userId = await newUser();
    const started = await webauthn.startRegistration(acme, userId, { bindTo: 'console:a' });
    expect(started.registrationId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(started.options.rp).toEqual({ id: 'localhost', name: 'Acme Corp' });
    expect(started.options.authenticatorSelection).toMatchObject({ residentKey: 'required', userVerification: 'preferred' });
    // EdDSA, ES256, RS256 on every Node version (Node 24 would add the library's experimental ML-DSA).
    expect(started.options.pubKeyCredParams.map((param) => param.alg)).toEqual([-8, -7, -257]);
    expect(Buffer.from(started.options.user.id, 'base64url')).toHaveLength(32);
    expect(started.options.user.id).toBe(await credentials.userHandle('acme', userId));
    expect(await credentials.userIdByHandle('acme', started.options.user.id)).toBe(userId);
    expect(await credentials.userIdByHandle('umbrella', started.options.user.id)).toBeUndefined();

    const authenticator = new SoftAuthenticator();
    const response = authenticator.createCredential(started.options, { origin: ORIGIN, backupEligible: true, backedUp: true });
    const factor = await webauthn.finishRegistration(acme, userId, { registrationId: started.registrationId, bindTo: 'console:a', response, name: ' Laptop ' });
    expect(factor).toMatchObject({ type: 'webauthn', name: 'Laptop', transports: ['internal'], backedUp: true });
    expect(await factors.list('acme', userId)).toEqual([factor]);
    // A second registration keeps the handle and excludes the credential already held.
    const next = await webauthn.startRegistration(acme, userId, { bindTo: 'console:a' });
    expect(next.options.user.id).toBe(started.options.user.id);
    expect(next.options.excludeCredentials?.map((descriptor) => descriptor.id)).toEqual([response.id]);
    // Another account's handle is another random value.
    expect(await credentials.userHandle('acme', await newUser())).not.toBe(started.options.user.id);
  });

  it('refuses a registration replayed, of another user, bound to something else, or from another origin', async () => {
    const userId = await newUser();
    const authenticator = new SoftAuthenticator();
    const started = await webauthn.startRegistration(acme, userId, { bindTo: 'console:b' });
    const response = authenticator.createCredential(started.options, { origin: ORIGIN });
    await webauthn.finishRegistration(acme, userId, { registrationId: started.registrationId, bindTo: 'console:b', response });
    // The pending registration was taken: the same response again finds nothing.
    expect((await appErrorOf(webauthn.finishRegistration(acme, userId, { registrationId: started.registrationId, bindTo: 'console:b', response }))).code).toBe('enrollment_not_found');

    const other = await webauthn.startRegistration(acme, userId, { bindTo: 'console:b' });
    const fresh = authenticator.createCredential(other.options, { origin: ORIGIN });
    expect((await appErrorOf(webauthn.finishRegistration(acme, userId, { registrationId: other.registrationId, bindTo: 'console:other', response: fresh }))).code).toBe('enrollment_not_found');
    const third = await webauthn.startRegistration(acme, userId, { bindTo: 'console:b' });
    expect((await appErrorOf(webauthn.finishRegistration(acme, await newUser(), { registrationId: third.registrationId, bindTo: 'console:b', response: fresh }))).code).toBe('enrollment_not_found');

    const phished = await webauthn.startRegistration(acme, userId, { bindTo: 'console:b' });
    const wrongOrigin = authenticator.createCredential(phished.options, { origin: 'http://localhost:3001' });
    const error = await appErrorOf(webauthn.finishRegistration(acme, userId, { registrationId: phished.registrationId, bindTo: 'console:b', response: wrongOrigin }));
    expect([error.code, error.status]).toEqual(['webauthn_failed', 400]);
    const wrongRp = await webauthn.startRegistration(acme, userId, { bindTo: 'console:b' });
    const otherRp = authenticator.createCredential(wrongRp.options, { origin: ORIGIN, rpId: 'evil.example' });
    expect((await appErrorOf(webauthn.finishRegistration(acme, userId, { registrationId: wrongRp.registrationId, bindTo: 'console:b', response: otherRp }))).code).toBe('webauthn_failed');
    expect((await factors.list('acme', userId)).map((factor) => factor.type)).toEqual(['webauthn']);
  });

  it('refuses hostile input: a malformed response, a bad registration id, an oversized name', async () => {
    const userId = await newUser();
    const started = await webauthn.startRegistration(acme, userId, { bindTo: 'console:c' });
    const garbage = { id: 'x', rawId: 'x', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' }, clientExtensionResults: {} } as const;
    expect((await appErrorOf(webauthn.finishRegistration(acme, userId, { registrationId: started.registrationId, bindTo: 'console:c', response: garbage }))).code).toBe('webauthn_failed');
    expect((await appErrorOf(webauthn.finishRegistration(acme, userId, { registrationId: '../../etc', bindTo: 'console:c', response: garbage }))).code).toBe('enrollment_not_found');
    const named = await webauthn.startRegistration(acme, userId, { bindTo: 'console:c' });
    const response = new SoftAuthenticator().createCredential(named.options, { origin: ORIGIN });
    expect((await appErrorOf(webauthn.finishRegistration(acme, userId, { registrationId: named.registrationId, bindTo: 'console:c', response, name: 'x'.repeat(65) }))).code).toBe('invalid_request');
    expect(await factors.list('acme', userId)).toEqual([]);
  });

  it('registers a credential ID once per tenant, also when two registrations finish in parallel', async () => {
    const userId = await newUser();
    const authenticator = new SoftAuthenticator();
    const { credentialId } = await register(acme, userId, authenticator);
    const again = await appErrorOf(register(acme, await newUser(), authenticator, { again: credentialId }));
    expect([again.code, again.status]).toEqual(['webauthn_credential_exists', 409]);
    // Another tenant is another namespace: the same authenticator may register there.
    await register(umbrella, await newUser('umbrella'), authenticator, { again: credentialId });

    const racer = await newUser();
    const twin = new SoftAuthenticator();
    const bindTo = 'console:race';
    const starts = await Promise.all(Array.from({ length: 5 }, () => webauthn.startRegistration(acme, racer, { bindTo })));
    const first = twin.createCredential(starts[0]!.options, { origin: ORIGIN });
    const responses = [first, ...starts.slice(1).map((started) => twin.createCredential(started.options, { origin: ORIGIN, again: first.id }))];
    const results = await Promise.allSettled(starts.map((started, index) => webauthn.finishRegistration(acme, racer, { registrationId: started.registrationId, bindTo, response: responses[index]! })));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) if (result.status === 'rejected') expect((result.reason as AppError).code).toBe('webauthn_credential_exists');
    expect(await factors.list('acme', racer)).toHaveLength(1);
  });
});

describe('authentication', () => {
  it('accepts a second factor and a passkey sign-in, with hwk for a device-bound key and swk for a synced one', async () => {
    const userId = await newUser();
    const device = new SoftAuthenticator();
    const { factor } = await register(acme, userId, device, { counter: 1 });
    const second = await authenticate(acme, device, { userId });
    expect(second.verdict).toEqual({ ok: true, userId, factorId: factor.id, amr: 'hwk', userVerified: true });
    const synced = new SoftAuthenticator();
    const passkey = await register(acme, userId, synced, { backupEligible: true, backedUp: true });
    const first = await authenticate(acme, synced, { requireUserVerification: true });
    expect(first.verdict).toEqual({ ok: true, userId, factorId: passkey.factor.id, amr: 'swk', userVerified: true });
    expect((await factors.list('acme', userId)).find((candidate) => candidate.id === passkey.factor.id)?.lastUsedAt).toBeInstanceOf(Date);
    // A second factor lists the user's credentials; a passkey sign-in lists none and requires UV.
    const { options } = await webauthn.startAuthentication(acme, { bindTo: 'x', userId });
    expect(options.allowCredentials?.map((descriptor) => descriptor.id).sort()).toEqual([device.credentials[0]!.id, passkey.credentialId].sort());
    expect(options.userVerification).toBe('preferred');
    expect((await webauthn.startAuthentication(acme, { bindTo: 'y' })).options).toMatchObject({ allowCredentials: [], userVerification: 'required' });
  });

  it('refuses a replayed challenge, a challenge of another binding or user, and a wrong origin', async () => {
    const userId = await newUser();
    const authenticator = new SoftAuthenticator();
    await register(acme, userId, authenticator);
    const { verdict, again } = await authenticate(acme, authenticator, { userId });
    expect(verdict.ok).toBe(true);
    expect(await again()).toEqual({ ok: false, reason: 'challenge' });

    const { options } = await webauthn.startAuthentication(acme, { bindTo: 'interaction:1', userId });
    const response = authenticator.getAssertion(options, { origin: ORIGIN });
    expect(await webauthn.finishAuthentication(acme, { bindTo: 'interaction:2', response, userId, requireUserVerification: false })).toEqual({ ok: false, reason: 'challenge' });
    // A second-factor challenge does not answer a passkey sign-in (nor another user's step).
    await webauthn.startAuthentication(acme, { bindTo: 'interaction:3', userId });
    expect(await webauthn.finishAuthentication(acme, { bindTo: 'interaction:3', response, requireUserVerification: true })).toEqual({ ok: false, reason: 'challenge' });

    expect((await authenticate(acme, authenticator, { userId, origin: 'http://localhost:3001' })).verdict).toEqual({ ok: false, reason: 'verification' });
    expect((await authenticate(acme, authenticator, { userId, origin: 'https://localhost:3000' })).verdict).toEqual({ ok: false, reason: 'verification' });
    // The challenge was taken by the failed attempt too: the right answer to it comes too late.
  });

  it('ignores another tenant’s credential and refuses another user’s', async () => {
    const alice = await newUser();
    const bob = await newUser();
    const aliceKey = new SoftAuthenticator();
    const bobKey = new SoftAuthenticator();
    await register(acme, alice, aliceKey);
    await register(acme, bob, bobKey);
    expect((await authenticate(acme, bobKey, { userId: alice, credentialId: bobKey.credentials[0]!.id })).verdict).toEqual({ ok: false, reason: 'wrong_user' });

    const foreign = new SoftAuthenticator();
    await register(umbrella, await newUser('umbrella'), foreign);
    expect((await authenticate(acme, foreign, { requireUserVerification: true })).verdict).toEqual({ ok: false, reason: 'unknown_credential' });
    expect((await authenticate(acme, foreign, { userId: alice, credentialId: foreign.credentials[0]!.id })).verdict).toEqual({ ok: false, reason: 'unknown_credential' });
    // A passkey sign-in with a handle that is not the credential's account's.
    expect((await authenticate(acme, aliceKey, { requireUserVerification: true, userHandle: bobKey.credentials[0]!.userHandle })).verdict).toEqual({ ok: false, reason: 'verification' });
    expect((await authenticate(acme, aliceKey, { requireUserVerification: true, userHandle: null })).verdict).toEqual({ ok: false, reason: 'verification' });
  });

  it('requires user verification where asked', async () => {
    const userId = await newUser();
    const authenticator = new SoftAuthenticator();
    await register(acme, userId, authenticator);
    expect((await authenticate(acme, authenticator, { uv: false, requireUserVerification: true })).verdict).toEqual({ ok: false, reason: 'user_verification' });
    // A passkey sign-in's challenge demands it even if the caller forgot to.
    expect((await authenticate(acme, authenticator, { uv: false, requireUserVerification: false })).verdict).toEqual({ ok: false, reason: 'user_verification' });
    const second = await authenticate(acme, authenticator, { userId, uv: false });
    expect(second.verdict).toMatchObject({ ok: true, userVerified: false });
  });

  it('refuses and audits a counter that did not increase; accepts both-zero counters', async () => {
    const userId = await newUser();
    const counting = new SoftAuthenticator();
    const { factor } = await register(acme, userId, counting, { counter: 5 });
    expect((await authenticate(acme, counting, { userId, counter: 5 })).verdict).toEqual({ ok: false, reason: 'counter' });
    expect((await authenticate(acme, counting, { userId, counter: 0 })).verdict).toEqual({ ok: false, reason: 'counter' });
    expect((await authenticate(acme, counting, { userId, counter: 6 })).verdict.ok).toBe(true);
    expect((await authenticate(acme, counting, { userId, counter: 6 })).verdict).toEqual({ ok: false, reason: 'counter' });
    const events = await audit.list('acme', { type: 'mfa.webauthn_counter_regressed', actor: userId, limit: 10 });
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({ target: { type: 'user', id: userId }, details: { factorId: factor.id, storedCounter: 6, receivedCounter: 6 } });

    const synced = new SoftAuthenticator();
    await register(acme, userId, synced, { counter: 0, backupEligible: true, backedUp: true });
    for (let i = 0; i < 3; i += 1) expect((await authenticate(acme, synced, { userId, credentialId: synced.credentials[0]!.id })).verdict.ok).toBe(true);
  });

  it('lets at most one of parallel assertions with the same counter through', async () => {
    const userId = await newUser();
    const authenticator = new SoftAuthenticator();
    await register(acme, userId, authenticator, { counter: 1 });
    const ceremonies = await Promise.all(
      Array.from({ length: 8 }, async (_, index) => {
        const bindTo = `interaction:parallel-${index}`;
        const { options } = await webauthn.startAuthentication(acme, { bindTo, userId });
        return { bindTo, response: authenticator.getAssertion(options, { origin: ORIGIN, counter: 2 }) };
      }),
    );
    const verdicts = await Promise.all(ceremonies.map(({ bindTo, response }) => webauthn.finishAuthentication(acme, { bindTo, response, userId, requireUserVerification: false })));
    expect(verdicts.filter((verdict) => verdict.ok)).toHaveLength(1);
    expect(verdicts.filter((verdict) => !verdict.ok).map((verdict) => !verdict.ok && verdict.reason)).toEqual(Array(7).fill('counter'));
  });

  it('answers a malformed assertion with a verdict, not an exception', async () => {
    const userId = await newUser();
    const authenticator = new SoftAuthenticator();
    await register(acme, userId, authenticator);
    const { options } = await webauthn.startAuthentication(acme, { bindTo: 'interaction:bad', userId });
    const good = authenticator.getAssertion(options, { origin: ORIGIN });
    const forged = { ...good, response: { ...good.response, signature: Buffer.from('not a signature').toString('base64url') } };
    expect(await webauthn.finishAuthentication(acme, { bindTo: 'interaction:bad', response: forged, userId, requireUserVerification: false })).toEqual({ ok: false, reason: 'verification' });
    await webauthn.startAuthentication(acme, { bindTo: 'interaction:bad', userId });
    const mismatched = { ...good, rawId: 'AAAA' };
    expect(await webauthn.finishAuthentication(acme, { bindTo: 'interaction:bad', response: mismatched, userId, requireUserVerification: false })).toEqual({ ok: false, reason: 'unknown_credential' });
  });
});

describe('deletion', () => {
  it('removes a user’s handle with the user, and a tenant’s handles with the tenant', async () => {
    const userId = await newUser();
    await register(acme, userId, new SoftAuthenticator());
    const handle = await credentials.userHandle('acme', userId);
    await users.delete('acme', userId);
    expect(await credentials.userIdByHandle('acme', handle)).toBeUndefined();
    expect(await factors.list('acme', userId)).toEqual([]);
  });
});
