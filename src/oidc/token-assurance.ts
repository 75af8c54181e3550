import type { KoaContextWithOIDC } from 'oidc-provider';

interface SignInRecord {
  acr?: string | undefined;
  amr?: string[] | undefined;
  authTime?: number | undefined;
}

/**
 * How the user signed in, for an access token issued from that sign-in: the authorization code,
 * refresh token, device code or CIBA request being redeemed records the sign-in's `acr`, `amr` and
 * `auth_time`. Returned as extra token claims, they are in JWT access tokens (RFC 9068 2.2.1
 * allows them) and in introspection answers (RFC 7662: the provider answers a token's extra
 * claims), so a resource server can require a step-up itself. A token no user signed in for
 * (client credentials) gets none.
 */
export function tokenAssurance(ctx: KoaContextWithOIDC | undefined, token: { kind: string }): { acr?: string; amr?: string[]; auth_time?: number } {
  if (!ctx || token.kind !== 'AccessToken') return {};
  const { entities } = ctx.oidc;
  const source = (entities.AuthorizationCode ?? entities.RefreshToken ?? entities.DeviceCode ?? entities.BackchannelAuthenticationRequest) as SignInRecord | undefined;
  if (!source) return {};
  return {
    ...(typeof source.acr === 'string' ? { acr: source.acr } : {}),
    ...(Array.isArray(source.amr) ? { amr: [...source.amr] } : {}),
    ...(typeof source.authTime === 'number' ? { auth_time: source.authTime } : {}),
  };
}
