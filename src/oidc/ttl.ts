import type { Configuration } from 'oidc-provider';

const minute = 60;
const hour = 60 * minute;
const day = 24 * hour;

/**
 * Lifetimes, in seconds. Codes are short (RFC 9700 asks for minutes at most); refresh tokens and
 * sessions last two weeks, the same as Keycloak's and Auth0's defaults for "remember me" sessions.
 *
 * An access token for an API lives as long as the API says: 15 minutes unless its admin chose
 * otherwise (`DEFAULT_ACCESS_TOKEN_TTL_SECONDS`), because API tokens are JWTs that nothing can
 * recall once issued. Without an API the access token is opaque and good only for userinfo, which
 * checks the account at every call and loses the token when its grant is revoked; an hour is safe.
 */
export const ttl: NonNullable<Configuration['ttl']> = {
  AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? hour,
  AuthorizationCode: minute,
  BackchannelAuthenticationRequest: 10 * minute,
  ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 10 * minute,
  DeviceCode: 10 * minute,
  Grant: 14 * day,
  IdToken: hour,
  Interaction: hour,
  RefreshToken: 14 * day,
  Session: 14 * day,
};
