import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';
import { authenticationResponseSchema } from '../authn/webauthn-json.js';
import { AppError } from '../errors.js';
import { parseFields } from '../http/forms.js';
import type { StepContext } from './step.js';

/**
 * What the WebAuthn steps (`passkey`, `webauthn`) share: the challenge binding and the assertion
 * the page posts. The page's script (views/assets/webauthn-login.js) fetches the options, lets the
 * browser sign, and submits the assertion as JSON in the `response` field of an ordinary form (the
 * CSRF token and Origin are checked as for every step, then the same redirects follow).
 */

/** The challenge of each step is bound to this interaction and to the step (one pending per pair). */
export function challengeBinding(step: StepContext, name: 'passkey' | 'webauthn'): string {
  return `interaction:${step.interaction.uid}:${name}`;
}

const fields = z.object({ response: z.string().min(1).max(16_384) });

/** The assertion posted with a step's form (CSRF and Origin checked first); malformed or oversized input is a 400. */
export function assertionOf(step: StepContext): AuthenticationResponseJSON {
  const { response } = parseFields(fields, step.verifyForm());
  let json: unknown;
  try {
    json = JSON.parse(response);
  } catch {
    throw new AppError('invalid_request', 'The passkey answer was not sent as expected.');
  }
  // Bounded and shaped like what a browser sends (`authn/webauthn-json.ts`); the verifier judges the rest.
  const parsed = authenticationResponseSchema.safeParse(json);
  if (!parsed.success) throw new AppError('invalid_request', 'The passkey answer was not sent as expected.');
  return parsed.data;
}
