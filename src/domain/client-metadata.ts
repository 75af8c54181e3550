import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { acrValues } from './acr.js';
import { clientAssertionAlgs, clientAuthMethods } from './client-auth-methods.js';
import { clientJwks } from './client-jwks.js';

/**
 * The rules of the RFC 7591 metadata Gatehouse accepts for a client, shared by the admin API and
 * the CLI. oidc-provider's own client validation runs after these (oidc/client-validation.ts).
 */

/** Hosts where plain http is allowed (RFC 8252 7.3 loopback redirects; local development). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** A reverse-domain private-use scheme such as `com.example.app:` (RFC 8252 7.1), for native apps. */
const privateUseScheme = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

/** What is wrong with a URL a client registers, if anything; private-use schemes only where allowed. */
function uriProblem(value: string, allowPrivateUse: boolean): string | undefined {
  const url = URL.parse(value);
  if (!url) return 'must be an absolute URL';
  if (url.hash || value.includes('#')) return 'must not contain a fragment';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname) ? undefined : 'must use https (http only on localhost, 127.0.0.1 or [::1])';
  if (allowPrivateUse && privateUseScheme.test(url.protocol)) return undefined;
  return allowPrivateUse ? 'must use https, http on a loopback host, or a private-use scheme like com.example.app:' : 'must be an https URL';
}

function uri(allowPrivateUse: boolean) {
  return z
    .string()
    .max(2048)
    .superRefine((value, ctx) => {
      const problem = uriProblem(value, allowPrivateUse);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

/** An https URL (http on loopback only), at most 2048 characters. */
export const webUrl = uri(false);

/** OIDC Registration 2 requires https for `initiate_login_uri`, even on loopback. */
const httpsUrl = webUrl.refine((value) => value.startsWith('https:'), 'must be an https URL');

/**
 * A redirect URI: https, http on loopback, or a native app's private-use scheme. The provider's
 * own check then decides which of these the client's `application_type` allows.
 */
const redirectUri = uri(true);

function uniqueList<T extends z.ZodType>(item: T, max: number) {
  return z
    .array(item)
    .max(max)
    .refine((items) => new Set(items).size === items.length, 'must not repeat a value');
}

/** RFC 6749 3.3: space-separated scope tokens of printable ASCII other than `"` and `\`. */
const scopeString = z.string().max(2000).regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,100}( [\x21\x23-\x5B\x5D-\x7E]{1,100})*$/, 'space-separated scope tokens');

/** RFC 8628's grant type: a client registered with it may start device logins (others get `unauthorized_client`). */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** OpenID CIBA's grant type: only confidential clients may register it (docs/ciba.md). */
export const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';

/** Client ids: letters, digits, `.`, `_`, `-`; they appear in paths and tokens. */
export const clientIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, ".", "_" and "-" (at most 100)');

/** The RFC 7591 metadata an admin may set on an OIDC client (all optional here). */
export const clientFields = {
  client_name: z.string().trim().min(1).max(100),
  application_type: z.enum(['web', 'native']),
  redirect_uris: uniqueList(redirectUri, 20),
  post_logout_redirect_uris: uniqueList(redirectUri, 20),
  grant_types: uniqueList(z.enum(['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE_GRANT, CIBA_GRANT]), 5).min(1),
  /** CIBA: how the client hears of the result (`ping` also needs the notification endpoint) */
  backchannel_token_delivery_mode: z.enum(['poll', 'ping']),
  /** CIBA ping: https (http on loopback in development only, see the admin route), called through the outbound guard */
  backchannel_client_notification_endpoint: webUrl,
  response_types: uniqueList(z.enum(['code']), 1),
  token_endpoint_auth_method: z.enum(clientAuthMethods, {
    error: (issue) =>
      issue.input === 'client_secret_jwt'
        ? 'client_secret_jwt is not supported: client secrets are stored only as hashes and this method needs the plain secret; use private_key_jwt, client_secret_basic or client_secret_post'
        : `must be one of ${clientAuthMethods.join(', ')}`,
  }),
  /** `private_key_jwt`: the client's public keys, inline or at a URL fetched behind the outbound guard */
  jwks: clientJwks,
  jwks_uri: webUrl,
  token_endpoint_auth_signing_alg: z.enum(clientAssertionAlgs),
  /** PKCE even for this confidential client (its tenant may require it of every client anyway) */
  require_pkce: z.boolean(),
  scope: scopeString,
  client_uri: webUrl,
  initiate_login_uri: httpsUrl,
  logo_uri: webUrl,
  policy_uri: webUrl,
  tos_uri: webUrl,
  backchannel_logout_uri: webUrl,
  backchannel_logout_session_required: z.boolean(),
  first_party: z.boolean(),
  admin_console: z.boolean(),
  /**
   * Gatehouse's server-side minimum for this client's logins: unlike `default_acr_values`, which the
   * request's own `acr_values` replace, no request parameter lowers it (docs/mfa.md)
   */
  minimum_acr: z.enum(acrValues, { error: `must be one of ${acrValues.join(', ')}` }),
};

/** A fresh client id (service accounts get a `sa-` prefix so they read as such in logs). */
export function newClientId(prefix = ''): string {
  return `${prefix}${randomBytes(12).toString('hex')}`;
}
