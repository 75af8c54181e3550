import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';
import { parseAssertion } from '../authn/webauthn-json.js';
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
  return parseAssertion(response);
}
