/**
 * The client authentication methods that work, and so the ones discovery lists. Secrets are stored
 * only as hashes (oidc/client-secrets.ts), so `client_secret_jwt`, an HMAC keyed with the plain secret,
 * cannot be verified and is not offered; `private_key_jwt` (RFC 7523) needs only the client's public
 * keys. Mutual TLS methods need a TLS-terminating proxy that Gatehouse does not assume.
 */
export const clientAuthMethods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
export type ClientAuthMethod = (typeof clientAuthMethods)[number];

/** The methods that authenticate with a generated secret (stored hashed, shown once). */
export function usesSecret(method: unknown): boolean {
  // A client registered without a method has oidc-provider's default, client_secret_basic.
  return method === undefined || method === 'client_secret_basic' || method === 'client_secret_post';
}

/**
 * The signature algorithms of client assertions: asymmetric only (HS256 would be
 * `client_secret_jwt`), and the ones RFC 9700 / FAPI 2.0 consider sound.
 */
export const clientAssertionAlgs = ['RS256', 'PS256', 'ES256', 'Ed25519', 'EdDSA'] as const;
