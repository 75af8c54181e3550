import { describe, expect, it } from 'vitest';
import { ACR, acrOf, acrValuesOf, amrOf, essentialAcrOf, lowestKnown, methodsOf, proves, requiredAcr, satisfies } from '../../src/authn/assurance.js';

describe('assurance vocabulary', () => {
  it('derives acr from the methods proven', () => {
    expect(acrOf([])).toBeUndefined();
    expect(acrOf(['mfa'])).toBeUndefined();
    expect(acrOf(['pwd'])).toBe(ACR.singleFactor);
    expect(acrOf(['otp'])).toBe(ACR.singleFactor);
    expect(acrOf(['pwd', 'otp'])).toBe(ACR.multiFactor);
    expect(acrOf(['pwd', 'rec', 'mfa'])).toBe(ACR.multiFactor);
    expect(acrOf(['otp', 'rec'])).toBe(ACR.singleFactor);
    // A lone key without user verification is one factor: phishing-resistant ranks above
    // multi-factor, so it must never be earned by one factor.
    expect(acrOf(['hwk'])).toBe(ACR.singleFactor);
    expect(acrOf(['something-else'])).toBeUndefined();
  });

  it('adds mfa to an amr of two kinds, in a stable order without repeats', () => {
    expect(amrOf(['pwd'])).toEqual(['pwd']);
    expect(amrOf(['otp', 'pwd', 'pwd'])).toEqual(['pwd', 'otp', 'mfa']);
    expect(amrOf(['pwd', 'mfa', 'bogus'])).toEqual(['pwd']);
    expect(amrOf(['pwd', 'rec'])).toEqual(['pwd', 'rec', 'mfa']);
  });

  it('never lets a password alone satisfy multi-factor', () => {
    expect(satisfies(undefined, [])).toBe(true);
    expect(satisfies(ACR.singleFactor, ['pwd'])).toBe(true);
    expect(satisfies(ACR.multiFactor, ['pwd'])).toBe(false);
    expect(satisfies(ACR.multiFactor, ['pwd', 'mfa'])).toBe(false);
    expect(satisfies(ACR.multiFactor, ['pwd', 'otp', 'mfa'])).toBe(true);
    expect(satisfies(ACR.phishingResistant, ['pwd', 'otp', 'mfa'])).toBe(false);
    expect(satisfies(ACR.singleFactor, ['pwd', 'otp'])).toBe(true);
  });

  it('reads a request as the lowest known value, ignoring unknown ones', () => {
    expect(lowestKnown([])).toBeUndefined();
    expect(lowestKnown(['urn:unknown'])).toBeUndefined();
    expect(lowestKnown([ACR.multiFactor, ACR.singleFactor])).toBe(ACR.singleFactor);
    expect(lowestKnown(['urn:unknown', ACR.multiFactor])).toBe(ACR.multiFactor);
  });

  it('takes the strictest of request, client minimum and tenant policy; a request never lowers it', () => {
    expect(requiredAcr({ acrValues: [], tenantMfa: 'optional' })).toBeUndefined();
    expect(requiredAcr({ acrValues: [ACR.multiFactor], tenantMfa: 'off' })).toBe(ACR.multiFactor);
    expect(requiredAcr({ acrValues: [ACR.singleFactor], clientMinimum: ACR.multiFactor, tenantMfa: 'optional' })).toBe(ACR.multiFactor);
    expect(requiredAcr({ acrValues: [ACR.singleFactor], tenantMfa: 'required' })).toBe(ACR.multiFactor);
    expect(requiredAcr({ acrValues: [ACR.phishingResistant], clientMinimum: ACR.multiFactor, tenantMfa: 'required' })).toBe(ACR.phishingResistant);
    expect(requiredAcr({ acrValues: [], essentialAcr: ['urn:unknown'], tenantMfa: 'optional' })).toBe('unknown');
    expect(requiredAcr({ acrValues: ['urn:unknown'], essentialAcr: [ACR.multiFactor], tenantMfa: 'optional' })).toBe(ACR.multiFactor);
  });

  it('reads acr_values and an essential acr claim, ignoring what is not one', () => {
    expect(acrValuesOf(`${ACR.multiFactor}  ${ACR.singleFactor}`)).toEqual([ACR.multiFactor, ACR.singleFactor]);
    expect(acrValuesOf(undefined)).toEqual([]);
    expect(acrValuesOf(42)).toEqual([]);
    expect(acrValuesOf(Array.from({ length: 100 }, (_, i) => `v${i}`).join(' ')).length).toBe(20);
    const claims = (value: unknown) => JSON.stringify(value);
    expect(essentialAcrOf(claims({ id_token: { acr: { essential: true, values: [ACR.multiFactor, 7] } } }))).toEqual([ACR.multiFactor]);
    expect(essentialAcrOf(claims({ id_token: { acr: { essential: true, value: ACR.multiFactor } } }))).toEqual([ACR.multiFactor]);
    expect(essentialAcrOf(claims({ id_token: { acr: { values: [ACR.multiFactor] } } }))).toBeUndefined();
    expect(essentialAcrOf(claims({ id_token: { acr: { essential: 'yes', values: [ACR.multiFactor] } } }))).toBeUndefined();
    expect(essentialAcrOf(claims(null))).toBeUndefined();
    expect(essentialAcrOf('{not json')).toBeUndefined();
    expect(essentialAcrOf({ id_token: { acr: { essential: true, value: ACR.multiFactor } } })).toBeUndefined();
  });

  it('counts a passkey that verified its user as multi-factor and phishing-resistant on its own', () => {
    // The login state records user verification; the amr carries it as `mfa` beside the key's method.
    expect(methodsOf([{ method: 'swk', userVerified: true }])).toEqual(['swk', 'mfa']);
    expect(methodsOf([{ method: 'hwk', userVerified: false }])).toEqual(['hwk']);
    expect(methodsOf([{ method: 'pwd' }, { method: 'hwk' }])).toEqual(['pwd', 'hwk']);
    // UV means nothing for a method that is not a WebAuthn credential.
    expect(methodsOf([{ method: 'otp', userVerified: true }])).toEqual(['otp']);

    expect(amrOf(['swk', 'mfa'])).toEqual(['swk', 'mfa']);
    expect(amrOf(['hwk', 'mfa'])).toEqual(['hwk', 'mfa']);
    expect(amrOf(['hwk'])).toEqual(['hwk']);
    expect(amrOf(['hwk', 'pwd'])).toEqual(['pwd', 'hwk', 'mfa']);
    expect(amrOf(['pwd', 'swk', 'mfa'])).toEqual(['pwd', 'swk', 'mfa']);

    expect(acrOf(['swk', 'mfa'])).toBe(ACR.phishingResistant);
    expect(acrOf(['hwk', 'mfa'])).toBe(ACR.phishingResistant);
    expect(acrOf(['swk'])).toBe(ACR.singleFactor);
    expect(satisfies(ACR.multiFactor, ['swk'])).toBe(false);
    expect(satisfies(ACR.multiFactor, ['swk', 'mfa'])).toBe(true);
    expect(satisfies(ACR.phishingResistant, ['swk', 'mfa'])).toBe(true);
  });

  it('makes any sign-in that includes a WebAuthn proof and a second kind phishing-resistant', () => {
    expect(acrOf(['pwd', 'hwk', 'mfa'])).toBe(ACR.phishingResistant);
    expect(acrOf(['pwd', 'swk'])).toBe(ACR.phishingResistant);
    expect(satisfies(ACR.phishingResistant, ['pwd', 'swk', 'mfa'])).toBe(true);
    expect(satisfies(ACR.phishingResistant, ['pwd', 'otp', 'mfa'])).toBe(false);
  });

  it('never lets an mfa value without a WebAuthn method claim a second factor', () => {
    // `mfa` is trusted only beside an origin-bound method, which is how a verified passkey says it.
    expect(amrOf(['pwd', 'mfa'])).toEqual(['pwd']);
    expect(amrOf(['otp', 'mfa'])).toEqual(['otp']);
    expect(acrOf(['pwd', 'mfa'])).toBe(ACR.singleFactor);
    expect(acrOf(['otp', 'rec', 'mfa'])).toBe(ACR.singleFactor);
    expect(satisfies(ACR.multiFactor, ['otp', 'mfa'])).toBe(false);
  });

  it('says which methods prove a factor type: any WebAuthn method proves a WebAuthn credential', () => {
    expect(proves('webauthn', ['pwd', 'hwk'])).toBe(true);
    expect(proves('webauthn', ['swk', 'mfa'])).toBe(true);
    expect(proves('webauthn', ['pwd', 'otp'])).toBe(false);
    expect(proves('totp', ['pwd', 'otp'])).toBe(true);
    expect(proves('totp', ['pwd', 'hwk'])).toBe(false);
    expect(proves('recovery_codes', ['rec'])).toBe(true);
  });
});
