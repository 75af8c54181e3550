/**
 * A tenant's proof-of-work settings (`securityPolicy.proofOfWork`): which forms make the browser
 * solve a puzzle before they are accepted (`authn/proof-of-work.ts`). Everything is off when unset.
 */
export interface TenantProofOfWork {
  /** the sign-up form */
  signUp?: boolean;
  /** the password sign-in, once this many failures are counted for the typed identifier or the client address */
  signInAfterFailures?: number;
  /** the "forgot password" form */
  passwordReset?: boolean;
  /** every form that texts a code (sign-in codes, adding a phone in the account console) */
  sms?: boolean;
  /** the largest counter a challenge asks for: see {@link POW_DIFFICULTY} */
  difficulty?: number;
}

/** What a challenge protects; each is checked against its own setting and bound into the challenge. */
export const proofOfWorkPurposes = ['sign_up', 'sign_in', 'password_reset', 'sms'] as const;
export type ProofOfWorkPurpose = (typeof proofOfWorkPurposes)[number];

/**
 * Bounds of `difficulty`: the server picks a secret counter between half of it and all of it, and
 * the browser tries counters from 0 until it finds it, each try 1,000 rounds of PBKDF2-SHA-256
 * (`authn/proof-of-work.ts`), so a solve costs on average three quarters of `difficulty` tries.
 * Below the minimum the puzzle costs a bot nothing; above the maximum a slow phone waits minutes.
 * docs/accounts.md ("Proof of work") gives measured times.
 */
export const POW_DIFFICULTY = { min: 500, max: 100_000, default: 5_000 } as const;

/** Bounds of `signInAfterFailures`: from the first failure to the identifier budget's hard cap (authn/sign-in-throttle.ts). */
export const POW_SIGN_IN_FAILURES = { min: 1, max: 25 } as const;

/** The settings with their defaults: every purpose off, the default difficulty. */
export function proofOfWorkOf(settings: TenantProofOfWork | undefined): Required<Omit<TenantProofOfWork, 'signInAfterFailures'>> & { signInAfterFailures: number | null } {
  return {
    signUp: settings?.signUp === true,
    signInAfterFailures: settings?.signInAfterFailures ?? null,
    passwordReset: settings?.passwordReset === true,
    sms: settings?.sms === true,
    difficulty: settings?.difficulty ?? POW_DIFFICULTY.default,
  };
}

/**
 * Whether a purpose is on at all (a challenge may be issued for it). For `sign_in` that means a
 * failure threshold is set; whether a given attempt needs a solution depends on its counts.
 */
export function proofOfWorkEnabled(settings: TenantProofOfWork | undefined, purpose: ProofOfWorkPurpose): boolean {
  const pow = proofOfWorkOf(settings);
  switch (purpose) {
    case 'sign_up':
      return pow.signUp;
    case 'sign_in':
      return pow.signInAfterFailures !== null;
    case 'password_reset':
      return pow.passwordReset;
    case 'sms':
      return pow.sms;
  }
}
