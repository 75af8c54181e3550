import { describe, expect, it } from 'vitest';
import { ACR } from '../../src/authn/assurance.js';
import { nextStep, type PolicyInput } from '../../src/interactions/policy.js';

const at = 1_700_000_000_000;
const pwd = { method: 'pwd' as const, at };
const otp = { method: 'otp' as const, at };
/** a security key proven as a second factor (no user verification) */
const hwk = { method: 'hwk' as const, at, factorId: 'f1' };
/** a passkey that verified its user (the first factor of a passkey login) */
const passkey = { method: 'swk' as const, at, factorId: 'f2', userVerified: true };
const everyFactor = { mfa: 'optional' as const, factors: ['totp' as const, 'recovery_codes' as const, 'webauthn' as const] };
const phishingResistantRequest = { acrValues: [ACR.phishingResistant], promptLogin: false };

/** A login prompt of a fresh sign-in in an `optional` tenant allowing every factor; `changes` override. */
function input(changes: Partial<PolicyInput> = {}): PolicyInput {
  return {
    prompt: { name: 'login', reasons: ['no_session'] },
    request: { acrValues: [], promptLogin: false },
    state: { factors: [] },
    tenant: { mfa: 'optional', factors: ['totp', 'recovery_codes'] },
    client: {},
    enrolled: [],
    ...changes,
  };
}

const stepUp = { prompt: { name: 'login', reasons: ['acr_unmet'] }, session: { accountId: 'u1', amr: ['pwd'] } };
const mfaRequest = { acrValues: [ACR.multiFactor], promptLogin: false };

const step = (name: string, alternatives: string[] = [], accountId?: string): Record<string, unknown> => ({ kind: 'step', step: name, alternatives, ...(accountId ? { accountId } : {}) });
const finish = (amr: string[], acr: string): Record<string, unknown> => ({ kind: 'finish', accountId: 'u1', amr, acr });
const unmet: Record<string, unknown> = { kind: 'unmet' };

const table: Array<[string, PolicyInput, Record<string, unknown>]> = [
  ['consent prompt: consent', input({ prompt: { name: 'consent', reasons: ['op_scopes_missing'] } }), step('consent')],
  ['nothing proven: password', input(), step('password')],
  ['password, no factor: finish single-factor', input({ state: { accountId: 'u1', factors: [pwd] } }), finish(['pwd'], ACR.singleFactor)],
  ['password, TOTP enrolled: totp, recovery code as the alternative', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['totp', 'recovery_codes'] }), step('totp', ['recovery-code'], 'u1')],
  ['TOTP first whatever order the factors were enrolled in', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['recovery_codes', 'totp'] }), step('totp', ['recovery-code'], 'u1')],
  ['password + otp: finish multi-factor', input({ state: { accountId: 'u1', factors: [pwd, otp] }, enrolled: ['totp'] }), finish(['pwd', 'otp', 'mfa'], ACR.multiFactor)],
  ['password + recovery code: finish multi-factor', input({ state: { accountId: 'u1', factors: [pwd, { method: 'rec', at }] }, enrolled: ['totp', 'recovery_codes'] }), finish(['pwd', 'rec', 'mfa'], ACR.multiFactor)],
  ['only recovery codes left: recovery-code', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['recovery_codes'] }), step('recovery-code', [], 'u1')],
  ['password, phone and TOTP: totp first, sms then recovery code as alternatives', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['sms', 'recovery_codes', 'totp'], tenant: { mfa: 'optional', factors: ['totp', 'recovery_codes', 'sms'] } }), step('totp', ['sms', 'recovery-code'], 'u1')],
  ['password, phone only: sms', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['sms'], tenant: { mfa: 'optional', factors: ['totp', 'recovery_codes', 'sms'] } }), step('sms', [], 'u1')],
  ['password + sms: finish multi-factor, not phishing-resistant', input({ state: { accountId: 'u1', factors: [pwd, { method: 'sms', at }] }, enrolled: ['sms'], tenant: { mfa: 'optional', factors: ['sms'] } }), finish(['pwd', 'sms', 'mfa'], ACR.multiFactor)],
  ['request asks phishing-resistant of a phone: unmet', input({ state: { accountId: 'u1', factors: [pwd, { method: 'sms', at }] }, enrolled: ['sms'], tenant: { mfa: 'optional', factors: ['sms'] }, request: { acrValues: [ACR.phishingResistant], promptLogin: false } }), unmet],
  ['sms left out of the tenant’s factors: a phone does not count', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['sms'], tenant: { mfa: 'optional', factors: ['totp', 'recovery_codes'] } }), finish(['pwd'], ACR.singleFactor)],
  ['tenant off: enrolled factors are not asked', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['totp'], tenant: { mfa: 'off', factors: ['totp'] } }), finish(['pwd'], ACR.singleFactor)],
  ['factor type disallowed later stops counting', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['totp'], tenant: { mfa: 'optional', factors: ['recovery_codes'] } }), finish(['pwd'], ACR.singleFactor)],
  ['required, no factor: enrol inside the login', input({ state: { accountId: 'u1', factors: [pwd] }, tenant: { mfa: 'required', factors: ['totp', 'recovery_codes'] } }), step('enroll-totp', [], 'u1')],
  ['required, TOTP not allowed and no factor: unmet', input({ state: { accountId: 'u1', factors: [pwd] }, tenant: { mfa: 'required', factors: ['recovery_codes'] } }), unmet],
  ['request asks multi-factor of a user without factors (optional): unmet, no enrolment', input({ state: { accountId: 'u1', factors: [pwd] }, request: mfaRequest }), unmet],
  ['request asks phishing-resistant: unmet', input({ state: { accountId: 'u1', factors: [pwd, otp] }, enrolled: ['totp'], request: { acrValues: [ACR.phishingResistant], promptLogin: false } }), unmet],
  ['essential acr of unknown values: unmet', input({ state: { accountId: 'u1', factors: [pwd] }, request: { acrValues: [], essentialAcr: ['urn:x'], promptLogin: false } }), unmet],
  ['client minimum multi-factor, request asks single: totp', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['totp'], client: { minimumAcr: ACR.multiFactor }, request: { acrValues: [ACR.singleFactor], promptLogin: false } }), step('totp', [], 'u1')],
  ['step-up of a password session: only the missing factor', input({ ...stepUp, request: mfaRequest, enrolled: ['totp'] }), step('totp', [], 'u1')],
  ['step-up finished: amr accumulates the session and the new factor', input({ ...stepUp, request: mfaRequest, enrolled: ['totp'], state: { factors: [otp] } }), finish(['pwd', 'otp', 'mfa'], ACR.multiFactor)],
  ['prompt=login with a session: password again', input({ prompt: { name: 'login', reasons: ['login_prompt', 'acr_unmet'] }, session: { accountId: 'u1', amr: ['pwd'] }, request: { acrValues: [ACR.multiFactor], promptLogin: true }, enrolled: ['totp'] }), step('password')],
  ['max_age exceeded with a session: password again', input({ prompt: { name: 'login', reasons: ['max_age'] }, session: { accountId: 'u1', amr: ['pwd', 'otp', 'mfa'] } }), step('password')],
  ['password session never satisfies multi-factor by itself', input({ ...stepUp, request: mfaRequest }), unmet],
  ['must change password: after the second factor', input({ state: { accountId: 'u1', factors: [pwd], mustChangePassword: true }, enrolled: ['totp'] }), step('totp', [], 'u1')],
  ['must change password: then change-password', input({ state: { accountId: 'u1', factors: [pwd, otp], mustChangePassword: true }, enrolled: ['totp'] }), step('change-password', [], 'u1')],
  ['state of another account than the session: the session does not count', input({ ...stepUp, request: mfaRequest, enrolled: ['totp'], state: { accountId: 'u2', factors: [otp] } }), unmet],

  // WebAuthn (issue 10)
  ['tenant counts WebAuthn: the password, a passkey as the alternative', input({ tenant: everyFactor }), step('password', ['passkey'])],
  ['tenant off: no passkey sign-in either', input({ tenant: { mfa: 'off', factors: ['totp', 'webauthn'] } }), step('password')],
  ['WebAuthn left out of the tenant factors: no passkey sign-in', input({ tenant: { mfa: 'optional', factors: ['totp'] } }), step('password')],
  ['password, every factor enrolled: the strongest first, the others as alternatives', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['recovery_codes', 'totp', 'webauthn'], tenant: everyFactor }), step('webauthn', ['totp', 'recovery-code'], 'u1')],
  ['password, only a security key: webauthn', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['webauthn'], tenant: everyFactor }), step('webauthn', [], 'u1')],
  ['WebAuthn disallowed later: the app is asked, the key does not count', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['webauthn', 'totp'], tenant: { mfa: 'optional', factors: ['totp'] } }), step('totp', [], 'u1')],
  ['password + security key without UV: phishing-resistant', input({ state: { accountId: 'u1', factors: [pwd, hwk] }, enrolled: ['webauthn', 'totp'], tenant: everyFactor }), finish(['pwd', 'hwk', 'mfa'], ACR.phishingResistant)],
  ['passkey with UV alone: multi-factor and phishing-resistant', input({ state: { accountId: 'u1', factors: [passkey] }, enrolled: ['webauthn'], tenant: everyFactor }), finish(['swk', 'mfa'], ACR.phishingResistant)],
  ['passkey with UV satisfies a tenant requiring MFA', input({ state: { accountId: 'u1', factors: [passkey] }, enrolled: ['webauthn'], tenant: { ...everyFactor, mfa: 'required' }, request: mfaRequest }), finish(['swk', 'mfa'], ACR.phishingResistant)],
  ['a key without UV alone never finishes', input({ state: { accountId: 'u1', factors: [{ ...hwk, userVerified: false }] }, enrolled: ['webauthn'], tenant: everyFactor }), unmet],
  ['phishing-resistant asked: only WebAuthn is offered after the password', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['totp', 'recovery_codes', 'webauthn'], tenant: everyFactor, request: phishingResistantRequest }), step('webauthn', [], 'u1')],
  ['phishing-resistant asked, a code already given: the key still', input({ state: { accountId: 'u1', factors: [pwd, otp] }, enrolled: ['totp', 'webauthn'], tenant: everyFactor, request: phishingResistantRequest }), step('webauthn', [], 'u1')],
  ['phishing-resistant asked of a user without a key: unmet', input({ state: { accountId: 'u1', factors: [pwd] }, enrolled: ['totp'], tenant: everyFactor, request: phishingResistantRequest }), unmet],
  ['phishing-resistant asked, tenant requires MFA, no factor: unmet (no app enrolment)', input({ state: { accountId: 'u1', factors: [pwd] }, tenant: { ...everyFactor, mfa: 'required' }, request: phishingResistantRequest }), unmet],
  ['step-up of a password session to phishing-resistant: the key only', input({ ...stepUp, request: phishingResistantRequest, enrolled: ['totp', 'webauthn'], tenant: everyFactor }), step('webauthn', [], 'u1')],
  ['step-up of a password session finished with a key', input({ ...stepUp, request: phishingResistantRequest, enrolled: ['totp', 'webauthn'], tenant: everyFactor, state: { factors: [hwk] } }), finish(['pwd', 'hwk', 'mfa'], ACR.phishingResistant)],
  ['step-up of a multi-factor session to phishing-resistant', input({ ...stepUp, session: { accountId: 'u1', amr: ['pwd', 'otp', 'mfa'] }, request: phishingResistantRequest, enrolled: ['totp', 'webauthn'], tenant: everyFactor }), step('webauthn', [], 'u1')],
  ['a passkey session meets a phishing-resistant request', input({ ...stepUp, session: { accountId: 'u1', amr: ['swk', 'mfa'] }, request: phishingResistantRequest, enrolled: ['webauthn'], tenant: everyFactor }), finish(['swk', 'mfa'], ACR.phishingResistant)],
  ['a forged lone mfa in the session claims nothing', input({ ...stepUp, session: { accountId: 'u1', amr: ['pwd', 'mfa'] }, request: mfaRequest, enrolled: ['totp'], tenant: everyFactor }), step('totp', [], 'u1')],
];

describe('login policy', () => {
  it.each(table)('%s', (_name, given, expected) => {
    expect(nextStep(given)).toMatchObject(expected);
  });
});
