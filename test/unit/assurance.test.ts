import { describe, expect, it } from 'vitest';
import { ACR, acrOf, acrValuesOf, amrOf, essentialAcrOf, lowestKnown, requiredAcr, satisfies } from '../../src/authn/assurance.js';

describe('assurance vocabulary', () => {
  it('derives acr from the methods proven', () => {
    expect(acrOf([])).toBeUndefined();
    expect(acrOf(['mfa'])).toBeUndefined();
    expect(acrOf(['pwd'])).toBe(ACR.singleFactor);
    expect(acrOf(['otp'])).toBe(ACR.singleFactor);
    expect(acrOf(['pwd', 'otp'])).toBe(ACR.multiFactor);
    expect(acrOf(['pwd', 'rec', 'mfa'])).toBe(ACR.multiFactor);
    expect(acrOf(['otp', 'rec'])).toBe(ACR.singleFactor);
    expect(acrOf(['hwk'])).toBe(ACR.phishingResistant);
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
});
