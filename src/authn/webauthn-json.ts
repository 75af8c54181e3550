import { z } from 'zod';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { AppError } from '../errors.js';

/**
 * The shapes a browser sends back (`PublicKeyCredential.toJSON()`, or @simplewebauthn/browser), as
 * zod schemas for the routes that accept them: bounded strings and lists, unknown fields dropped,
 * so what reaches the verifier is the type it expects. The verifier still judges every value.
 */

/** base64url, bounded: a credential's parts are small (a few KB with an attestation certificate chain). */
const b64url = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9_-]*$/, 'base64url');

/** The transports WebAuthn L3 names (5.8.4); others are dropped rather than stored. */
export const knownTransports = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'] as const;

const common = {
  id: b64url(1024),
  rawId: b64url(1024),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.object({}).default({}),
};

export const registrationResponseSchema = z.object({
  ...common,
  response: z.object({
    clientDataJSON: b64url(4096),
    attestationObject: b64url(32_768),
    authenticatorData: b64url(32_768).optional(),
    transports: z.array(z.string().max(32)).max(16).transform((list) => list.filter((item) => (knownTransports as readonly string[]).includes(item))).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64url(4096).optional(),
  }),
}) satisfies z.ZodType<RegistrationResponseJSON, unknown>;

export const authenticationResponseSchema = z.object({
  ...common,
  response: z.object({
    clientDataJSON: b64url(4096),
    authenticatorData: b64url(4096),
    signature: b64url(1024),
    userHandle: b64url(128).optional(),
  }),
}) satisfies z.ZodType<AuthenticationResponseJSON, unknown>;

/**
 * The assertion a page's script posted as JSON text (`response`): bounded and shaped like what a
 * browser sends (`authenticationResponseSchema`); the verifier judges the rest. Malformed input is a 400.
 */
export function parseAssertion(response: string): AuthenticationResponseJSON {
  let json: unknown;
  try {
    json = JSON.parse(response);
  } catch {
    throw new AppError('invalid_request', 'The passkey answer was not sent as expected.');
  }
  const parsed = authenticationResponseSchema.safeParse(json);
  if (!parsed.success) throw new AppError('invalid_request', 'The passkey answer was not sent as expected.');
  return parsed.data;
}
