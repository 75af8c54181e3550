import type { Account, AccountClaims, FindAccount } from 'oidc-provider';
import type { User, UserRepository } from '../domain/users.js';

/** Which claims each scope releases (OIDC Core 5.4). */
export const claimsByScope = {
  // acr, amr and auth_time come from the session, not the account: listing them under `openid`
  // releases them in every ID token, so relying parties can see how the user signed in (RFC 8176).
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  /** the names of the user's roles in this tenant */
  roles: ['roles'],
} as const;

/** The name to show for a user: their full name, else given + family name. */
export function displayName(user: User): string | undefined {
  return user.name ?? ([user.givenName, user.familyName].filter(Boolean).join(' ') || undefined);
}

/** The standard claims of a user; oidc-provider filters them by the granted scopes and claims. */
export function userClaims(user: User): AccountClaims {
  const name = displayName(user);
  return {
    sub: user._id,
    preferred_username: user.username,
    updated_at: Math.floor(user.updatedAt.getTime() / 1000),
    ...(name ? { name } : {}),
    ...(user.givenName ? { given_name: user.givenName } : {}),
    ...(user.familyName ? { family_name: user.familyName } : {}),
    ...(user.email ? { email: user.email, email_verified: user.emailVerified } : {}),
    ...(user.phone ? { phone_number: user.phone, phone_number_verified: user.phoneVerified } : {}),
    roles: user.roles ?? [],
  };
}

/**
 * `findAccount` for one tenant: a disabled or deleted user has no account, so their refresh tokens
 * and userinfo calls stop working at once.
 */
export function findAccountFor(tenant: string, users: UserRepository): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    const user = await users.findById(tenant, sub);
    if (!user || user.disabled) return undefined;
    return { accountId: user._id, claims: () => userClaims(user) };
  };
}
