/**
 * The admin API as a resource server of every tenant: tokens for it carry its identifier as
 * audience and, as scopes, only the admin permissions their subject's roles grant. Its identity
 * lives here, below both the provider that issues its tokens (oidc/resources.ts) and the admin
 * API that accepts them (admin/).
 */
export const adminScopes = {
  'admin:tenants': 'Create, list, update and delete tenants (system tenant only); change the own tenant’s name, branding and security policy',
  'admin:users:read': 'Read users',
  'admin:users:write': 'Create, update, disable and delete users, set passwords and roles',
  'admin:clients:read': 'Read OIDC clients, SAML apps and service accounts',
  'admin:clients:write': 'Create, update and delete OIDC clients, SAML apps and service accounts, rotate secrets, issue API keys',
  'admin:apis:read': 'Read APIs (resource servers)',
  'admin:apis:write': 'Create, update and delete APIs',
  'admin:roles:read': 'Read roles and their permissions',
  'admin:roles:write': 'Create, update and delete roles',
  'admin:audit:read': 'Read audit events',
  'admin:keys:read': 'Read a tenant’s signing and cookie keys and SAML certificates: ids, algorithms, states and times (never private keys)',
  'admin:keys:write': 'Rotate a tenant’s keys; create, activate and retire its SAML certificates',
} as const;

export type AdminScope = keyof typeof adminScopes;

export const allAdminScopes = Object.keys(adminScopes) as AdminScope[];

/** The admin API's identifier (the `resource` to ask a token for, and its `aud`). */
export function adminApiIdentifier(publicUrl: string): string {
  return `${publicUrl}/admin/v1`;
}

/** Lifetime of admin access tokens: short, they carry operator power. */
export const ADMIN_TOKEN_TTL_SECONDS = 900;

/** The role bootstrap gives the first operator and the bootstrap service account. */
export const ADMIN_ROLE = 'gatehouse-admin';
