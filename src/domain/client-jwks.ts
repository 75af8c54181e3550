import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { z } from 'zod';
import { clientAssertionAlgs } from './client-auth-methods.js';

/** How many keys a client may register inline: enough for a rotation or two, few enough to try each. */
export const MAX_CLIENT_KEYS = 10;

/** Members that make a JWK a private (or symmetric) key; a client registers only what verifies its signatures. */
const privateMembers = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv']);

/** The signing keys we accept, by key type: the curve it must be on and the algorithms it may declare. */
const keyTypes: Record<string, { crv?: string; algs: readonly string[]; members: readonly string[] }> = {
  RSA: { algs: ['RS256', 'PS256'], members: ['n', 'e'] },
  EC: { crv: 'P-256', algs: ['ES256'], members: ['crv', 'x', 'y'] },
  OKP: { crv: 'Ed25519', algs: ['Ed25519', 'EdDSA'], members: ['crv', 'x'] },
};

const commonMembers = new Set(['kty', 'kid', 'use', 'alg', 'key_ops', 'x5c', 'x5t', 'x5t#S256', 'ext']);

/** RSA keys below this are refused (NIST SP 800-131A); above the upper bound they only cost CPU. */
const RSA_BITS = { min: 2048, max: 8192 };

/** What is wrong with a public signing JWK, if anything. */
function jwkProblem(jwk: Record<string, unknown>): string | undefined {
  const secret = Object.keys(jwk).find((member) => privateMembers.has(member));
  if (secret) return `"${secret}" is a private key member: register public keys only`;
  const type = typeof jwk['kty'] === 'string' ? keyTypes[jwk['kty']] : undefined;
  if (!type) return 'kty must be "RSA", "EC" or "OKP" (a public signing key)';
  const unknown = Object.keys(jwk).find((member) => !commonMembers.has(member) && !type.members.includes(member));
  if (unknown) return `unknown member "${unknown}" for a ${String(jwk['kty'])} key`;
  if (type.crv && jwk['crv'] !== type.crv) return `crv must be "${type.crv}" for ${String(jwk['kty'])} keys`;
  if (jwk['alg'] !== undefined && !type.algs.includes(jwk['alg'] as string)) return `alg must be one of ${type.algs.join(', ')} for this key (allowed: ${clientAssertionAlgs.join(', ')})`;
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig') return 'use must be "sig"';
  if (jwk['key_ops'] !== undefined && !(Array.isArray(jwk['key_ops']) && jwk['key_ops'].every((op) => op === 'verify'))) return 'key_ops may only be ["verify"]';
  try {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (jwk['kty'] === 'RSA' && (bits === undefined || bits < RSA_BITS.min || bits > RSA_BITS.max)) return `an RSA key must have ${RSA_BITS.min} to ${RSA_BITS.max} bits`;
  } catch {
    return 'is not a valid public key';
  }
  return undefined;
}

const jwk = z
  .record(z.string().max(20), z.union([z.string().max(2048), z.array(z.string().max(8192)).max(5), z.boolean()]))
  .superRefine((value, ctx) => {
    const problem = jwkProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .refine((value) => value['kid'] === undefined || (typeof value['kid'] === 'string' && value['kid'].length <= 200), 'kid is at most 200 characters');

/**
 * A client's inline JWK Set (RFC 7517) for `private_key_jwt`: 1 to {@link MAX_CLIENT_KEYS} public
 * signing keys of the algorithms client assertions may use, each parsed as a key, with distinct `kid`s.
 */
export const clientJwks = z
  .object({ keys: z.array(jwk).min(1).max(MAX_CLIENT_KEYS) })
  .strict()
  .refine(({ keys }) => {
    const kids = keys.map((key) => key['kid']).filter((kid) => kid !== undefined);
    return new Set(kids).size === kids.length;
  }, 'keys must not repeat a kid');
