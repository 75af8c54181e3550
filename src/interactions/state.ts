import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { InteractionDetails } from './step.js';

/** A factor proven during this interaction: the RFC 8176 method and when (epoch ms). */
const factorRecord = z
  .object({
    method: z.enum(['pwd', 'otp', 'rec', 'hwk', 'swk', 'sms']),
    at: z.number().int().nonnegative(),
    /** which stored factor, where there is one (the TOTP authenticator, the WebAuthn credential) */
    factorId: z.string().max(128).optional(),
    /**
     * WebAuthn only: the authenticator verified its user (PIN or biometric, the UV flag), which makes
     * the proof two factors in one (`authn/assurance.ts` `methodsOf`: the amr gains `mfa`).
     */
    userVerified: z.boolean().optional(),
  })
  .strict();

/**
 * A TOTP enrolment started inside the login (tenant requires MFA, the user has none): its id, kept
 * until the user confirms a code, so a wrong code shows the same QR code again rather than a new
 * secret. The key itself stays sealed in the pending enrolment (`TotpService.pendingEnrollment`),
 * never on the interaction.
 */
const pendingEnrollment = z.object({ enrollmentId: z.string().max(200) }).strict();

/**
 * What this interaction has proven so far, kept server side on the interaction (its `result`, under
 * our own key) until the policy says the login may finish. Parsed on every read, never cast: a
 * record that does not parse counts as nothing proven.
 */
export const loginStateSchema = z
  .object({
    accountId: z.string().min(1).max(128).optional(),
    factors: z.array(factorRecord).max(10).default([]),
    /**
     * A fingerprint of the password hash that was verified: if an admin resets the password while
     * the login is half done, the recorded progress no longer counts.
     */
    credential: z.string().max(100).optional(),
    /** an admin set the password with "must change": the change-password step is owed */
    mustChangePassword: z.boolean().optional(),
    enrollment: pendingEnrollment.optional(),
    /**
     * A sign-up with an address that already has an account, where the tenant verifies e-mail: the
     * browser is shown the same "enter the code" page as a new account, and no code ever works
     * (the owner is told by mail instead). Only the address is kept, to show it masked.
     */
    signUpDecoy: z.object({ address: z.string().max(254) }).strict().optional(),
  })
  .strict();

export type LoginState = z.infer<typeof loginStateSchema>;
export type FactorRecord = LoginState['factors'][number];

/** Our key on the interaction's result; the provider's own keys (`login`, `consent`) stay apart. */
const NAMESPACE = 'gatehouse';

export const emptyState = (): LoginState => ({ factors: [] });

export function readState(interaction: InteractionDetails): LoginState {
  const raw: unknown = interaction.result?.[NAMESPACE];
  const parsed = loginStateSchema.safeParse(raw ?? {});
  return parsed.success ? parsed.data : emptyState();
}

/** Records `state` on the interaction (persisted with it; the provider never reads it). */
export async function saveState(interaction: InteractionDetails, state: LoginState): Promise<void> {
  interaction.result = { [NAMESPACE]: loginStateSchema.parse(state) };
  await interaction.persist();
}

/** A fingerprint of a stored password hash (never the hash itself) to keep on the interaction. */
export function credentialFingerprint(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('base64url');
}
