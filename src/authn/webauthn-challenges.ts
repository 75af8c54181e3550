import { z } from 'zod';
import { tenantKey } from '../../adapters/ephemeral.js';

/**
 * A WebAuthn challenge waiting for its response, as kept in the short-lived state: the challenge,
 * a digest of what it is bound to (console session, interaction), the user it was made for, and
 * whether user verification is required.
 */
export interface PendingChallenge {
  challenge: string;
  bound: string;
  userId?: string;
  userVerification: boolean;
}

const pendingSchema = z.object({ challenge: z.string(), bound: z.string(), userId: z.string().optional(), userVerification: z.boolean() });

/** Registration ids are 16 random bytes, base64url. */
export const registrationIdPattern = /^[A-Za-z0-9_-]{22}$/;

/** `reg`: a registration, by its id; `auth`: a sign-in, by the digest of its binding (one per binding). */
export function challengeKey(tenant: string, kind: 'reg' | 'auth', id: string): string {
  return tenantKey(tenant, 'webauthn', kind, id);
}

/** A stored value read back; undefined when absent or not ours. */
export function parsePending(raw: string | undefined): PendingChallenge | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = pendingSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) return undefined;
    const { userId, ...rest } = parsed.data;
    return userId === undefined ? rest : { ...rest, userId };
  } catch {
    return undefined;
  }
}
