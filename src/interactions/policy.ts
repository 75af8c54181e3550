import { ACR, amrOf, acrOf, amrOfFactor, methodsOf, proves, requiredAcr, satisfies, stricter, type Acr, type Amr, type FactorType, type MfaMode } from '../authn/assurance.js';
import type { LoginState } from './state.js';

/** Every step of the login pipeline; also the path segment of its POST. Not the provider's prompt names. */
export const stepNames = ['password', 'sign-up', 'verify-email', 'passkey', 'webauthn', 'totp', 'sms', 'recovery-code', 'enroll-totp', 'change-password', 'consent'] as const;
export type StepName = (typeof stepNames)[number];

/** Which step proves each factor type a user may hold. */
const stepOfFactor: Record<FactorType, StepName> = { webauthn: 'webauthn', totp: 'totp', sms: 'sms', recovery_codes: 'recovery-code' };
/** The order they are offered in, strongest first: the first the user holds is asked for, the others are its alternatives. */
const factorOrder: readonly FactorType[] = ['webauthn', 'totp', 'sms', 'recovery_codes'];

/** Everything the decision depends on, read by `policy-input.ts`; nothing here does I/O. */
export interface PolicyInput {
  /** the provider's prompt and why it asked (`no_session`, `login_prompt`, `max_age`, `acr_unmet`, ...) */
  prompt: { name: string; reasons: readonly string[] };
  /** `acr_values` (with the client's `default_acr_values` folded in by the provider) and an essential `acr` claim */
  request: { acrValues: readonly string[]; essentialAcr?: readonly string[]; promptLogin: boolean };
  /** the browser's session, when it has one: who, and how they signed in */
  session?: { accountId: string; amr: readonly string[] };
  state: LoginState;
  /** `signUp`: the tenant's self-service sign-up is on (`security_policy.registration`) */
  tenant: { mfa: MfaMode; factors: readonly FactorType[]; signUp?: boolean };
  client: { minimumAcr?: Acr };
  /** the factor types the account being signed in has enrolled (empty while unknown) */
  enrolled: readonly FactorType[];
  /** the account signed up where the tenant verifies e-mail first, and its address is not verified yet */
  mustVerifyEmail?: boolean;
}

export type Decision =
  | { kind: 'step'; step: StepName; alternatives: readonly StepName[]; accountId?: string }
  | { kind: 'finish'; accountId: string; amr: Amr[]; acr: Acr }
  | { kind: 'unmet'; description: string };

/**
 * Whether the session's factors count for this login. Only when the provider asked for nothing but
 * more assurance (step-up): `prompt=login`, an exceeded `max_age`, no session, a session of someone
 * else (`id_token_hint`) or of a removed account all mean a fresh sign-in with every factor again.
 */
function reusesSession(input: PolicyInput): boolean {
  return Boolean(input.session) && !input.request.promptLogin && input.prompt.reasons.length > 0 && input.prompt.reasons.every((reason) => reason === 'acr_unmet');
}

/** The methods proven, the session's included on a step-up, and whose they are. */
function proven(input: PolicyInput): { accountId?: string; methods: string[] } {
  const { state, session } = input;
  const base = reusesSession(input) && session ? session : undefined;
  if (base && state.accountId && state.accountId !== base.accountId) return { accountId: state.accountId, methods: methodsOf(state.factors) };
  const accountId = state.accountId ?? base?.accountId;
  return { ...(accountId ? { accountId } : {}), methods: [...(base?.amr ?? []), ...methodsOf(state.factors)] };
}

/**
 * Which step an interaction needs next, or that the login may finish (with its amr and acr), or that
 * the request asks for what no step can give. A new factor is one entry of {@link stepOfFactor} and
 * its place in {@link factorOrder}.
 */
export function nextStep(input: PolicyInput): Decision {
  if (input.prompt.name === 'consent') return { kind: 'step', step: 'consent', alternatives: [] };
  if (input.state.signUpDecoy) return { kind: 'step', step: 'verify-email', alternatives: [] };

  const { accountId, methods } = proven(input);
  // A passkey (discoverable credential, user verified) signs in instead of the password where the
  // tenant counts WebAuthn credentials at all.
  const passkeys = input.tenant.mfa !== 'off' && input.tenant.factors.includes('webauthn');
  if (!accountId || methods.length === 0) {
    const passkey: StepName[] = passkeys ? ['passkey'] : [];
    // `prompt=create` (only a prompt while sign-up is on) opens on the sign-up page, which links
    // to signing in instead; otherwise the sign-in page links to sign-up where the tenant has it.
    if (input.prompt.name === 'create' && input.tenant.signUp) return { kind: 'step', step: 'sign-up', alternatives: ['password', ...passkey] };
    return { kind: 'step', step: 'password', alternatives: [...passkey, ...(input.tenant.signUp ? (['sign-up'] as const) : [])] };
  }

  // Before any second factor: a new account proves its address first (enrolling an authenticator
  // for an address that is not theirs would be wasted on a squatter).
  if (input.mustVerifyEmail) return { kind: 'step', step: 'verify-email', alternatives: [], accountId };

  const requested = requiredAcr({ acrValues: input.request.acrValues, essentialAcr: input.request.essentialAcr, clientMinimum: input.client.minimumAcr, tenantMfa: input.tenant.mfa });
  if (requested === 'unknown') return { kind: 'unmet', description: 'none of the requested essential acr values is supported' };

  // Factors count only where the tenant allows them; a type disallowed later stops counting. In the
  // order of `factorOrder` (the authenticator first, recovery codes as its alternative), whatever
  // the order the user enrolled them in.
  const usable = input.tenant.mfa === 'off' ? [] : factorOrder.filter((type) => input.enrolled.includes(type) && input.tenant.factors.includes(type));
  // A user who enrolled a factor is asked for it whenever the tenant uses MFA at all.
  const required = stricter(requested, usable.length > 0 ? ACR.multiFactor : undefined);

  if (!satisfies(required, methods)) {
    // The factors not proven yet that would reach the requirement (a phishing-resistant request
    // leaves only WebAuthn), judged by the least each type proves (a key without UV: `swk`).
    const missing = usable.filter((type) => !proves(type, methods) && satisfies(required, [...methods, amrOfFactor[type]])).map((type) => stepOfFactor[type]);
    const [step, ...alternatives] = missing;
    if (step) return { kind: 'step', step, alternatives, accountId };
    if (usable.length === 0 && required === ACR.multiFactor && input.tenant.mfa === 'required' && input.tenant.factors.includes('totp')) {
      return { kind: 'step', step: 'enroll-totp', alternatives: [], accountId };
    }
    return { kind: 'unmet', description: 'the requested authentication level cannot be reached with the factors this account may use' };
  }

  if (input.state.mustChangePassword) return { kind: 'step', step: 'change-password', alternatives: [], accountId };
  const amr = amrOf(methods as Amr[]);
  return { kind: 'finish', accountId, amr, acr: acrOf(amr) ?? ACR.singleFactor };
}
