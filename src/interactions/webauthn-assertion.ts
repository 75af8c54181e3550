import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';
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

const b64url = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/);

/**
 * An AuthenticationResponseJSON, bounded: a credential ID is at most 1023 bytes (WebAuthn L3), the
 * rest of a real assertion is well under a kilobyte; nothing else is accepted.
 */
const assertionSchema = z
  .object({
    id: b64url(1400),
    rawId: b64url(1400),
    type: z.literal('public-key'),
    response: z
      .object({
        clientDataJSON: b64url(4096),
        authenticatorData: b64url(4096),
        signature: b64url(1024),
        userHandle: b64url(128).optional(),
      })
      .strict(),
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
    // Extension outputs are not used; a browser may report some, so they are read and dropped.
    clientExtensionResults: z.record(z.string(), z.unknown()).transform(() => ({})),
  })
  .strict();

const fields = z.object({ response: z.string().min(1).max(16_384) });

/** The assertion posted with a step's form (CSRF and Origin checked first); malformed input is a 400. */
export function assertionOf(step: StepContext): AuthenticationResponseJSON {
  const { response } = parseFields(fields, step.verifyForm());
  let json: unknown;
  try {
    json = JSON.parse(response);
  } catch {
    throw new AppError('invalid_request', 'The passkey answer was not sent as expected.');
  }
  const parsed = assertionSchema.safeParse(json);
  if (!parsed.success) throw new AppError('invalid_request', 'The passkey answer was not sent as expected.');
  // Optional members are left out rather than set to undefined (exact optional property types).
  const { userHandle, ...signed } = parsed.data.response;
  const { authenticatorAttachment, ...rest } = parsed.data;
  return { ...rest, response: { ...signed, ...(userHandle ? { userHandle } : {}) }, ...(authenticatorAttachment ? { authenticatorAttachment } : {}) };
}
