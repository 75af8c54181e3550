import type { Configuration } from 'oidc-provider';

type Features = NonNullable<Configuration['features']>;

/**
 * The protocol features every tenant gets. Off: `devInteractions` (our own login pipeline renders
 * every page), dynamic registration (clients are managed by operators), implicit and hybrid flows.
 */
export const baseFeatures = {
  devInteractions: { enabled: false },
  clientCredentials: { enabled: true },
  // introspection: on, with a policy that needs the tenant's users (provider.ts, introspection.ts)
  revocation: { enabled: true },
  userinfo: { enabled: true },
  backchannelLogout: { enabled: true },
  pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
  dPoP: { enabled: true },
  claimsParameter: { enabled: true },
  registration: { enabled: false },
} satisfies Features;
