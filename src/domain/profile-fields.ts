import { z } from 'zod';
import { checkUsername, MAX_USERNAME_LENGTH } from './identifiers.js';

/**
 * The rules of a user's profile fields, one definition for every way a profile is written: the
 * admin API and self-service sign-up (`interactions/steps/sign-up.ts`).
 */

/** Free text a person typed: no control characters, which would only hide things in logs and UIs. */
export const personText = (max: number) => z.string().trim().min(1).max(max).regex(/^[^\p{Cc}]*$/u, 'no control characters');

/** The username profile (domain/identifiers.ts); the repository stores the canonical form. */
export const usernameField = z
  .string()
  .trim()
  .min(1)
  .max(MAX_USERNAME_LENGTH)
  .superRefine((value, ctx) => {
    const checked = checkUsername(value);
    if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.problem });
  });

/** RFC 5321's limit on a path: an address longer than this cannot receive mail. */
export const emailField = z.email().max(254);

export const phoneField = z.string().regex(/^\+[1-9][0-9]{1,14}$/, 'an E.164 phone number such as +15555550100');
