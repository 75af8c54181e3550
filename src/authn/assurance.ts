import { ACR, acrValues, type Acr, type MfaMode } from '../domain/acr.js';
import type { FactorType } from '../domain/mfa-factors.js';

export { ACR, acrValues, type Acr, type MfaMode };

/**
 * The assurance vocabulary in one place: what the `acr` values (named in `domain/acr.ts`) mean, which
 * `amr` value (RFC 8176) each kind of factor adds, and how one is derived from the other. Used by the
 * login policy, the provider's interaction policy, discovery and (later) the SAML bridge, so every
 * surface tells the same truth. Pure: no store, no HTTP. docs/mfa.md lists the values.
 */

/**
 * RFC 8176 methods, plus `rec` for a recovery code (a NIST "look-up secret": single use, but not the
 * RFC 4226/6238 one-time password that `otp` names, so it does not claim to be one).
 */
export type Amr = 'pwd' | 'otp' | 'rec' | 'hwk' | 'swk' | 'sms' | 'mfa';

/** The factor types the factor API records, each with the method it proves. */
export type { FactorType };

/**
 * The method each factor type proves, at the least: a WebAuthn credential proves `swk`, or `hwk`
 * where its attestation or flags justify it (the verdict of `authn/webauthn.ts` says which).
 */
export const amrOfFactor: Record<FactorType, Amr> = { totp: 'otp', recovery_codes: 'rec', webauthn: 'swk', sms: 'sms' };

/** What kind of proof each method is (NIST SP 800-63B 5.1): two kinds make a multi-factor sign-in. */
const kindOf: Record<Exclude<Amr, 'mfa'>, 'know' | 'have'> = { pwd: 'know', otp: 'have', rec: 'have', hwk: 'have', swk: 'have', sms: 'have' };

const METHOD_ORDER = Object.keys(kindOf);

/** Methods bound to the origin they were made for (WebAuthn), which a look-alike site cannot replay. */
const originBound = new Set<string>(['hwk', 'swk']);

/** Whether the methods proven (an `amr`) include a proof of a factor of `type`. */
export function proves(type: FactorType, methods: readonly string[]): boolean {
  const method = amrOfFactor[type];
  return originBound.has(method) ? methods.some((value) => originBound.has(value)) : methods.includes(method);
}

/**
 * The methods a login's factor records prove. A WebAuthn proof whose authenticator verified its
 * user (the UV flag: a PIN or biometric checked on the device) is two factors in one gesture,
 * something held and something known or inherent; RFC 8176 has no value for "verified by the
 * authenticator, by means it does not tell us" (`pin`, `fpt`, `face` each claim one modality; `user`
 * is mere presence, which every assertion has), so it is written `mfa` beside the key's method, as
 * RFC 8176 2 allows ("mfa" with the specific methods optionally listed). See docs/mfa.md.
 */
export function methodsOf(records: Iterable<{ method: string; userVerified?: boolean | undefined }>): string[] {
  return [...records].flatMap((record) => (record.userVerified && originBound.has(record.method) ? [record.method, 'mfa'] : [record.method]));
}

/**
 * Whether methods prove two kinds of factor: two different kinds, or an origin-bound method with
 * `mfa` (a passkey that verified its user, see {@link methodsOf}). An `mfa` beside no WebAuthn
 * method claims nothing: only that proof writes it alone.
 */
function isMultiFactor(methods: readonly Exclude<Amr, 'mfa'>[], amr: readonly string[]): boolean {
  if (new Set(methods.map((method) => kindOf[method])).size > 1) return true;
  return amr.includes('mfa') && methods.some((method) => originBound.has(method));
}

function isMethod(method: string): method is Exclude<Amr, 'mfa'> {
  return Object.hasOwn(kindOf, method);
}

export function isAcr(value: unknown): value is Acr {
  return typeof value === 'string' && (acrValues as readonly string[]).includes(value);
}

function rank(acr: Acr): number {
  return acrValues.indexOf(acr);
}

/**
 * The amr to issue for the methods proven, in a stable order, with `mfa` added when they are of two
 * different kinds or come from a passkey that verified its user (RFC 8176 2: "mfa" may accompany
 * the methods themselves).
 */
export function amrOf(methods: Iterable<string>): Amr[] {
  const given = [...methods];
  const proven = [...new Set(given.filter(isMethod))];
  proven.sort((a, b) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b));
  return isMultiFactor(proven, given) ? [...proven, 'mfa'] : proven;
}

/**
 * The acr that methods (an `amr`) earn; undefined for none at all. Phishing-resistant ranks above
 * multi-factor, so it needs both: two factors, one of them origin-bound. A lone `mfa` claims nothing.
 */
export function acrOf(amr: readonly string[]): Acr | undefined {
  const methods = amr.filter(isMethod);
  if (methods.length === 0) return undefined;
  if (!isMultiFactor(methods, amr)) return ACR.singleFactor;
  return methods.some((method) => originBound.has(method)) ? ACR.phishingResistant : ACR.multiFactor;
}

/** Whether methods proven (`amr`) meet `required`; nothing required is always met. */
export function satisfies(required: Acr | undefined, amr: readonly string[]): boolean {
  if (!required) return true;
  const earned = acrOf(amr);
  return earned !== undefined && rank(earned) >= rank(required);
}

/** The higher of two requirements. */
export function stricter(a: Acr | undefined, b: Acr | undefined): Acr | undefined {
  if (!a) return b;
  if (!b) return a;
  return rank(a) >= rank(b) ? a : b;
}

/**
 * What a list of requested acr values asks for: the lowest value we know (any of them would do for
 * the client). Unknown values are ignored; undefined when none is known.
 */
export function lowestKnown(requested: readonly string[]): Acr | undefined {
  const known = requested.filter(isAcr);
  return known.length ? known.reduce((lowest, value) => (rank(value) < rank(lowest) ? value : lowest)) : undefined;
}


export interface Requirement {
  /** `acr_values`, with the client's `default_acr_values` when the request has none */
  acrValues: readonly string[];
  /** the values of an essential `acr` claim (OIDC Core 5.5.1.1), when one was requested */
  essentialAcr?: readonly string[] | undefined;
  /** the client's server-side minimum (`minimum_acr`), which no request parameter lowers */
  clientMinimum?: Acr | undefined;
  tenantMfa: MfaMode;
}

/**
 * What a login must reach: the strictest of the request, the client's minimum and the tenant's
 * policy. The request can only raise it. `unknown`: an essential acr claim names only values we do not
 * issue, which no login can satisfy (voluntary `acr_values` we do not know are ignored).
 */
export function requiredAcr(requirement: Requirement): Acr | 'unknown' | undefined {
  const essential = requirement.essentialAcr;
  const fromRequest = essential && essential.length > 0 ? lowestKnown(essential) : lowestKnown(requirement.acrValues);
  if (essential && essential.length > 0 && !fromRequest) return 'unknown';
  const fromTenant = requirement.tenantMfa === 'required' ? ACR.multiFactor : undefined;
  return stricter(stricter(fromRequest, requirement.clientMinimum), fromTenant);
}

/**
 * The values of an essential `acr` claim in a request's `claims` parameter (OIDC Core 5.5.1.1), if
 * one is there. Read from the parameter itself, by the provider's check and the login policy alike:
 * the provider's parsed claims lose the essential request when `acr_values` is also given, and the
 * two reading differently would send the browser round in circles.
 */
export function essentialAcrOf(claimsParameter: unknown): string[] | undefined {
  let claims: unknown;
  try {
    claims = typeof claimsParameter === 'string' ? JSON.parse(claimsParameter) : undefined;
  } catch {
    return undefined;
  }
  const acr = (claims as { id_token?: { acr?: { essential?: unknown; value?: unknown; values?: unknown } } } | null | undefined)?.id_token?.acr;
  if (acr?.essential !== true) return undefined;
  const values: unknown[] = Array.isArray(acr.values) ? acr.values : [acr.value];
  return values.filter((value): value is string => typeof value === 'string').slice(0, 20);
}

/** The values of a request's `acr_values` (space-separated). */
export function acrValuesOf(value: unknown): string[] {
  return typeof value === 'string' ? value.split(' ').filter(Boolean).slice(0, 20) : [];
}
