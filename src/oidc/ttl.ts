import type { Configuration } from 'oidc-provider';
import { MAX_ACCESS_TOKEN_TTL_SECONDS } from '../domain/resources.js';

const minute = 60;
const hour = 60 * minute;
const day = 24 * hour;

/** ID tokens, also the longest-lived JWT the provider signs apart from API access tokens. */
export const ID_TOKEN_TTL_SECONDS = hour;
/** Logout tokens (back-channel logout): oidc-provider signs them for 120 s, not configurable. */
export const LOGOUT_TOKEN_TTL_SECONDS = 120;

/** A CIBA request's longest life (a client's `requested_expiry` may only shorten it). */
export const CIBA_REQUEST_LIFETIME_SECONDS = 10 * 60;

/** Sessions, and so the provider's session cookie. */
export const SESSION_TTL_SECONDS = 14 * day;

/** An API's own lifetime, never beyond the maximum the key retention is computed from. */
const apiTtl = (ttl: number) => Math.min(ttl, MAX_ACCESS_TOKEN_TTL_SECONDS);

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
  AccessToken: (_ctx, token) => (token.resourceServer?.accessTokenTTL ? apiTtl(token.resourceServer.accessTokenTTL) : hour),
  AuthorizationCode: minute,
  BackchannelAuthenticationRequest: (_ctx, request) => Math.min(request.params?.['requested_expiry'] ? Number(request.params['requested_expiry']) : CIBA_REQUEST_LIFETIME_SECONDS, CIBA_REQUEST_LIFETIME_SECONDS),
  ClientCredentials: (_ctx, token) => (token.resourceServer?.accessTokenTTL ? apiTtl(token.resourceServer.accessTokenTTL) : 10 * minute),
  DeviceCode: 10 * minute,
  Grant: 14 * day,
  IdToken: ID_TOKEN_TTL_SECONDS,
  Interaction: hour,
  RefreshToken: 14 * day,
  Session: SESSION_TTL_SECONDS,
};
