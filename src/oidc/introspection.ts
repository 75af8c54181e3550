import type { Configuration, FindAccount } from 'oidc-provider';

type AllowedPolicy = NonNullable<NonNullable<NonNullable<Configuration['features']>['introspection']>['allowedPolicy']>;

/**
 * `allowedPolicy` of token introspection (RFC 7662): oidc-provider answers `{"active": false}`
 * whenever it says no, and it is the provider's documented hook for this decision. Two rules:
 *
 * - the provider's default: a public client may introspect only its own tokens;
 * - a token of a user is active only while that user exists and is enabled. Disabling or deleting
 *   a user revokes their grants, and with them their tokens; this check also holds when a grant was
 *   missed (a user removed from the store directly, a token issued while the revocation ran), as
 *   userinfo and refresh already do through `findAccount`.
 *
 * Client credentials tokens have no user; the client is their subject and is checked at issuance.
 */
export function introspectionPolicyFor(findAccount: FindAccount): AllowedPolicy {
  return async (ctx, client, token) => {
    if (client.clientAuthMethod === 'none' && token.clientId !== client.clientId) return false;
    if (token.kind === 'ClientCredentials') return true;
    // Fails closed: a user's token without a subject is not one this provider issued.
    if (!('accountId' in token) || typeof token.accountId !== 'string') return false;
    return (await findAccount(ctx, token.accountId, token)) !== undefined;
  };
}
