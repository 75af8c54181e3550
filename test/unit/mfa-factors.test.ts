import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../adapters/index.js';
import { StoreEphemeral } from '../../adapters/ephemeral-store.js';
import type { Store } from '../../adapters/store.js';
import { chargeMfa } from '../../src/authn/mfa-throttle.js';
import { assertMayRemove } from '../../src/authn/mfa-policy.js';
import { RecoveryCodeService } from '../../src/authn/recovery-codes.js';
import { Throttle } from '../../src/authn/throttle.js';
import { TotpService } from '../../src/authn/totp.js';
import { MfaFactorRepository, type FactorSummary } from '../../src/domain/mfa-factors.js';
import { SecretBox } from '../../src/domain/secrets.js';
import { deleteTenantAndData } from '../../src/domain/tenant-deletion.js';
import { TenantRepository } from '../../src/domain/tenants.js';
import { UserRepository } from '../../src/domain/users.js';
import { AppError } from '../../src/errors.js';
import { appErrorOf } from '../helpers/app-error.js';

/**
 * The factor repository and the TOTP and recovery-code services through the real store (nedb in
 * memory) and the store-backed short-lived state, with a clock the test moves; codes are computed
 * independently with otplib's defaults (SHA-1, 6 digits, 30 s) from the secret the enrolment shows.
 */

let store: Store;
let now = Math.floor(Date.now() / 30_000) * 30_000 + 5_000;
const clock = () => now;
let tenants: TenantRepository;
let users: UserRepository;
let factors: MfaFactorRepository;
let totp: TotpService;
let recoveryCodes: RecoveryCodeService;
let throttle: Throttle;

const codeAt = (secret: string, ms: number) => generate({ secret, epoch: Math.floor(ms / 1000) });

async function newUser(tenant = 'acme'): Promise<string> {
  return (await users.create(tenant, { username: `user-${randomBytes(4).toString('hex')}` }))._id;
}

/** Enrols a confirmed authenticator; returns its factor and its (test-side) secret. */
async function enrol(tenant: string, userId: string, name?: string): Promise<{ factor: FactorSummary; secret: string }> {
  const started = await totp.startEnrollment(tenant, userId, name);
  const factor = await totp.confirmEnrollment(tenant, userId, started.enrollmentId, await codeAt(started.secret, now));
  return { factor, secret: started.secret };
}

beforeAll(async () => {
  store = await openStore({ kind: 'memory', dataDir: '', mongodb: { database: 'unused' } });
  const box = new SecretBox(randomBytes(32));
  const ephemeral = new StoreEphemeral(store, clock);
  tenants = new TenantRepository(store);
  factors = new MfaFactorRepository(store, box);
  users = new UserRepository(store, [factors]);
  totp = new TotpService({ factors, ephemeral, box, tenants, users, clock });
  recoveryCodes = new RecoveryCodeService(factors, clock);
  throttle = new Throttle(ephemeral, clock);
  await tenants.create({ id: 'acme', displayName: 'Acme Corp' });
  await tenants.create({ id: 'umbrella', displayName: 'Umbrella' });
});

afterAll(async () => {
  await store.close();
});

describe('TOTP enrolment', () => {
  it('shows a 160-bit secret, an otpauth URI with the tenant as issuer and a QR code as a PNG data URL', async () => {
    const userId = await newUser();
    const started = await totp.startEnrollment('acme', userId, 'Phone');
    expect(started.enrollmentId).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(started.secret).toMatch(/^[A-Z2-7]{32,}$/);
    const uri = new URL(started.uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(started.secret);
    expect(uri.searchParams.get('issuer')).toBe('Acme Corp');
    expect(decodeURIComponent(uri.pathname)).toContain('Acme Corp:');
    expect(started.qrCode).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    // Pending only: nothing counts until a code confirms it.
    expect(await factors.list('acme', userId)).toEqual([]);
  });

  it('activates the factor only with a valid code, once; a wrong code leaves the enrolment open', async () => {
    const userId = await newUser();
    const started = await totp.startEnrollment('acme', userId, 'Phone');
    const wrong = (Number(await codeAt(started.secret, now)) + 1) % 1_000_000;
    expect((await appErrorOf(totp.confirmEnrollment('acme', userId, started.enrollmentId, String(wrong).padStart(6, '0')))).code).toBe('invalid_totp_code');
    expect((await appErrorOf(totp.confirmEnrollment('acme', userId, started.enrollmentId, 'not a code'))).code).toBe('invalid_totp_code');
    const code = await codeAt(started.secret, now);
    const factor = await totp.confirmEnrollment('acme', userId, started.enrollmentId, code);
    expect(factor).toMatchObject({ type: 'totp', name: 'Phone' });
    expect((await appErrorOf(totp.confirmEnrollment('acme', userId, started.enrollmentId, code))).code).toBe('enrollment_not_found');
    const listed = await factors.list('acme', userId);
    expect(listed).toEqual([{ id: factor.id, type: 'totp', name: 'Phone', createdAt: expect.any(Date) as Date }]);
    // The code that confirmed the enrolment does not sign in again.
    expect(await totp.verify('acme', userId, code)).toEqual({ ok: false });
  });

  it('confirms one enrolment once when the same code arrives in 10 parallel requests', async () => {
    const userId = await newUser();
    const started = await totp.startEnrollment('acme', userId);
    const code = await codeAt(started.secret, now);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => totp.confirmEnrollment('acme', userId, started.enrollmentId, code)));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(await factors.list('acme', userId)).toHaveLength(1);
  });

  it('finds no enrolment of another user, another tenant, an unknown or malformed id, or after 10 minutes', async () => {
    const alice = await newUser();
    const bob = await newUser();
    const started = await totp.startEnrollment('acme', alice);
    const code = await codeAt(started.secret, now);
    expect((await appErrorOf(totp.confirmEnrollment('acme', bob, started.enrollmentId, code))).code).toBe('enrollment_not_found');
    expect((await appErrorOf(totp.confirmEnrollment('umbrella', alice, started.enrollmentId, code))).code).toBe('enrollment_not_found');
    expect((await appErrorOf(totp.confirmEnrollment('acme', alice, 'AAAAAAAAAAAAAAAAAAAAAA', code))).code).toBe('enrollment_not_found');
    expect((await appErrorOf(totp.confirmEnrollment('acme', alice, 'a:b:c', code))).code).toBe('enrollment_not_found');
    const later = await totp.startEnrollment('acme', alice);
    now += 10 * 60_000 + 1_000;
    expect((await appErrorOf(totp.confirmEnrollment('acme', alice, later.enrollmentId, await codeAt(later.secret, now)))).code).toBe('enrollment_not_found');
  });

  it('refuses to enrol a user that does not exist in the tenant, and names that are not plain text', async () => {
    expect((await appErrorOf(totp.startEnrollment('acme', 'no-such-user'))).code).toBe('user_not_found');
    const userId = await newUser();
    expect((await appErrorOf(totp.startEnrollment('umbrella', userId))).code).toBe('user_not_found');
    expect((await appErrorOf(totp.startEnrollment('acme', userId, 'x'.repeat(65)))).code).toBe('invalid_request');
    expect((await appErrorOf(totp.startEnrollment('acme', userId, 'bad\u0000name'))).code).toBe('invalid_request');
    expect((await appErrorOf(totp.startEnrollment('acme', userId, '   '))).code).toBe('invalid_request');
  });

  it('keeps secrets sealed at rest: no stored document, pending or confirmed, holds the secret', async () => {
    const userId = await newUser();
    const pending = await totp.startEnrollment('acme', userId, 'Pending');
    const { secret } = await enrol('acme', userId, 'Confirmed');
    const raw = JSON.stringify([...(await store.collection('mfa_factors').find({})), ...(await store.collection('ephemeral').find({}))]);
    expect(raw).not.toContain(secret);
    expect(raw).not.toContain(pending.secret);
    expect(raw).toContain('Confirmed');
  });
});

describe('TOTP verification', () => {
  it('accepts a code once; a later step is accepted; a code of two steps ago is refused', async () => {
    const userId = await newUser();
    const { factor, secret } = await enrol('acme', userId);
    now += 30_000;
    const code = await codeAt(secret, now);
    expect(await totp.verify('acme', userId, code)).toEqual({ ok: true, factorId: factor.id });
    expect(await totp.verify('acme', userId, code)).toEqual({ ok: false });
    expect((await factors.list('acme', userId))[0]!.lastUsedAt).toEqual(new Date(now));
    now += 90_000;
    expect(await totp.verify('acme', userId, await codeAt(secret, now - 60_000))).toEqual({ ok: false });
    expect(await totp.verify('acme', userId, await codeAt(secret, now - 30_000))).toEqual({ ok: true, factorId: factor.id });
    // The current step is still ahead of the last accepted one.
    expect(await totp.verify('acme', userId, await codeAt(secret, now))).toEqual({ ok: true, factorId: factor.id });
  });

  it('accepts the same code at most once in 10 parallel verifications', async () => {
    const userId = await newUser();
    const { secret } = await enrol('acme', userId);
    now += 30_000;
    const code = await codeAt(secret, now);
    const results = await Promise.all(Array.from({ length: 10 }, () => totp.verify('acme', userId, code)));
    expect(results.filter((result) => result.ok)).toHaveLength(1);
  });

  it('checks every named authenticator of the user and none of another user or tenant', async () => {
    const userId = await newUser();
    await enrol('acme', userId, 'Phone');
    const tablet = await enrol('acme', userId, 'Tablet');
    expect((await factors.list('acme', userId)).map((factor) => factor.name).sort()).toEqual(['Phone', 'Tablet']);
    now += 30_000;
    const code = await codeAt(tablet.secret, now);
    const other = await newUser();
    expect(await totp.verify('acme', other, code)).toEqual({ ok: false });
    expect(await totp.verify('umbrella', userId, code)).toEqual({ ok: false });
    expect(await totp.verify('acme', userId, code)).toEqual({ ok: true, factorId: tablet.factor.id });
  });

  it('answers no for malformed, oversized and empty codes and for a user without factors', async () => {
    const userId = await newUser();
    await enrol('acme', userId);
    for (const code of ['', '12345', '1234567', 'abcdef', '9'.repeat(100_000)]) expect(await totp.verify('acme', userId, code)).toEqual({ ok: false });
    expect(await totp.verify('acme', await newUser(), '123456')).toEqual({ ok: false });
  });
});

describe('recovery codes', () => {
  it('generates 10 distinct codes, each usable once; the factor counts what is left', async () => {
    const userId = await newUser();
    const codes = await recoveryCodes.generate('acme', userId);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    expect(await factors.list('acme', userId)).toEqual([{ id: expect.any(String) as string, type: 'recovery_codes', name: 'Recovery codes', createdAt: expect.any(Date) as Date, remaining: 10 }]);
    expect(await recoveryCodes.use('acme', userId, codes[0]!)).toBe(true);
    expect(await recoveryCodes.use('acme', userId, codes[0]!)).toBe(false);
    const [listed] = await factors.list('acme', userId);
    expect(listed).toMatchObject({ remaining: 9, lastUsedAt: new Date(now) });
    const raw = JSON.stringify(await store.collection('mfa_factors').find({ userId }));
    for (const code of codes) expect(raw).not.toContain(code.replaceAll('-', ''));
  });

  it('lets one code succeed once among 10 parallel uses', async () => {
    const userId = await newUser();
    const [code] = await recoveryCodes.generate('acme', userId);
    const results = await Promise.all(Array.from({ length: 10 }, () => recoveryCodes.use('acme', userId, code!)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('voids the old set when regenerated, keeping one recovery-code factor', async () => {
    const userId = await newUser();
    const old = await recoveryCodes.generate('acme', userId);
    const fresh = await recoveryCodes.generate('acme', userId);
    expect(fresh.some((code) => old.includes(code))).toBe(false);
    expect(await recoveryCodes.use('acme', userId, old[1]!)).toBe(false);
    expect(await recoveryCodes.use('acme', userId, fresh[1]!)).toBe(true);
    expect(await factors.list('acme', userId)).toHaveLength(1);
  });

  it('accepts a code in any case, with spaces or without dashes, and nothing else', async () => {
    const userId = await newUser();
    const codes = await recoveryCodes.generate('acme', userId);
    expect(await recoveryCodes.use('acme', userId, ` ${codes[0]!.toUpperCase()} `)).toBe(true);
    expect(await recoveryCodes.use('acme', userId, codes[1]!.replaceAll('-', ''))).toBe(true);
    expect(await recoveryCodes.use('acme', userId, codes[2]!.replaceAll('-', ' '))).toBe(true);
    for (const bad of ['', 'x', codes[3]!.slice(0, -1), `${codes[3]!}0`, codes[3]!.repeat(10_000)]) expect(await recoveryCodes.use('acme', userId, bad)).toBe(false);
    expect(await recoveryCodes.use('umbrella', userId, codes[3]!)).toBe(false);
    expect(await recoveryCodes.use('acme', await newUser(), codes[3]!)).toBe(false);
    expect(await recoveryCodes.use('acme', userId, codes[3]!)).toBe(true);
  });
});

describe('removing factors', () => {
  it('removes one factor, or all, of the user named in the tenant named only', async () => {
    const userId = await newUser();
    const { factor } = await enrol('acme', userId);
    await recoveryCodes.generate('acme', userId);
    expect(await factors.remove('umbrella', userId, factor.id)).toBe(false);
    expect(await factors.remove('acme', await newUser(), factor.id)).toBe(false);
    expect(await factors.remove('acme', userId, factor.id)).toBe(true);
    expect(await factors.remove('acme', userId, factor.id)).toBe(false);
    await enrol('acme', userId);
    expect(await factors.removeAll('umbrella', userId)).toBe(0);
    expect(await factors.removeAll('acme', userId)).toBe(2);
    expect(await factors.list('acme', userId)).toEqual([]);
  });

  it('removes a user’s factors with the user, and a tenant’s with the tenant', async () => {
    const userId = await newUser();
    await enrol('acme', userId);
    expect(await users.delete('acme', userId)).toBe(true);
    expect(await store.collection('mfa_factors').count({ userId })).toBe(0);

    await tenants.create({ id: 'doomed', displayName: 'Doomed' });
    const doomedUser = await newUser('doomed');
    await enrol('doomed', doomedUser);
    await recoveryCodes.generate('doomed', doomedUser);
    const keep = await newUser();
    await enrol('acme', keep);
    await deleteTenantAndData({ holders: [users, factors], keys: { deleteTenant: async () => undefined }, tenants }, 'doomed');
    expect(await store.collection('mfa_factors').count({ tenant: 'doomed' })).toBe(0);
    expect(await factors.list('acme', keep)).toHaveLength(1);
  });
});

describe('assertMayRemove', () => {
  const factor = (id: string, type: FactorSummary['type']): FactorSummary => ({ id, type, name: id, createdAt: new Date() });
  const phone = factor('phone', 'totp');
  const tablet = factor('tablet', 'totp');
  const codes = factor('codes', 'recovery_codes');

  it('refuses to leave a user without an authenticator while the tenant requires MFA', () => {
    const required = { mfa: 'required' as const };
    const refused = (factors: FactorSummary[], id?: string) => {
      try {
        assertMayRemove(required, factors, id);
        return undefined;
      } catch (error) {
        return (error as AppError).code;
      }
    };
    expect(refused([phone], 'phone')).toBe('mfa_last_factor');
    // Recovery codes are a fallback for a lost authenticator, not one.
    expect(refused([phone, codes], 'phone')).toBe('mfa_last_factor');
    expect(refused([phone, codes])).toBe('mfa_last_factor');
    expect(refused([phone, tablet], 'phone')).toBeUndefined();
    expect(refused([phone, codes], 'codes')).toBeUndefined();
    // Nothing named is removed: the caller answers 404.
    expect(refused([phone], 'unknown')).toBeUndefined();
    expect(refused([])).toBeUndefined();
  });

  it('lets anything go when the tenant does not require MFA', () => {
    for (const policy of [undefined, {}, { mfa: 'optional' as const }, { mfa: 'off' as const }]) {
      expect(() => assertMayRemove(policy, [phone], 'phone')).not.toThrow();
      expect(() => assertMayRemove(policy, [phone, codes])).not.toThrow();
    }
  });
});

describe('chargeMfa', () => {
  it('counts wrong codes per account before the check, while a known browser keeps its own budget', async () => {
    const accountId = await newUser();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const charge = await chargeMfa(throttle, { tenant: 'acme', accountId });
      expect(charge.ok).toBe(true);
      if (charge.ok) await charge.settle('failed');
    }
    const refused = await chargeMfa(throttle, { tenant: 'acme', accountId });
    expect(refused).toMatchObject({ ok: false, budget: 'account' });
    expect(refused.ok ? 0 : refused.retryAfter).toBeGreaterThan(0);
    expect((await chargeMfa(throttle, { tenant: 'acme', accountId, device: 'owners-laptop' })).ok).toBe(true);
    // Another account and another tenant are untouched.
    expect((await chargeMfa(throttle, { tenant: 'acme', accountId: await newUser() })).ok).toBe(true);
    expect((await chargeMfa(throttle, { tenant: 'umbrella', accountId })).ok).toBe(true);
  });

  it('lets at most the free attempts through a parallel burst of wrong codes', async () => {
    const accountId = await newUser();
    const charges = await Promise.all(Array.from({ length: 20 }, () => chargeMfa(throttle, { tenant: 'acme', accountId })));
    const taken = charges.filter((charge) => charge.ok);
    expect(taken.length).toBeGreaterThan(0);
    expect(taken.length).toBeLessThanOrEqual(5);
  });
});
