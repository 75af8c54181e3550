import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors, type ClientMetadata, type Configuration } from 'oidc-provider';
import { acrValues, isAcr } from '../authn/assurance.js';
import { signingAlgs } from '../domain/keys.js';
import { claimsByScope } from './claims.js';
import { usesSecret } from '../domain/client-auth-methods.js';
import { clientAuthentication } from './client-auth.js';
import { baseFeatures } from './features.js';

/**
 * The provider settings that decide which client metadata is valid. Every tenant's provider
 * (provider.ts) and the validator below are built from these, so they accept the same clients.
 * Nothing per tenant takes part: the tenant's PKCE policy applies at authorization, not here.
 */
export const clientMetadataSettings = {
  claims: Object.fromEntries(Object.entries(claimsByScope).map(([scope, claims]) => [scope, [...claims]])),
  scopes: ['openid', 'offline_access', ...Object.keys(claimsByScope).filter((scope) => scope !== 'openid')],
  responseTypes: ['code'],
  // The whole acr vocabulary, on every tenant alike (discovery's acr_values_supported): a client's
  // default_acr_values are validated against it, and a client valid on one tenant is valid on all.
  acrValues: [...acrValues],
  ...clientAuthentication,
  extraClientMetadata: {
    properties: ['first_party', 'service_account', 'admin_console', 'require_pkce', 'minimum_acr'],
    validator(_ctx, key, value) {
      if (key === 'minimum_acr') {
        if (value !== undefined && !isAcr(value)) throw new Error(`minimum_acr must be one of ${acrValues.join(', ')}`);
        return;
      }
      if (value !== undefined && typeof value !== 'boolean') {
        throw new Error(`${key} must be a boolean`);
      }
    },
  },
} satisfies Configuration;

/** What is wrong with a client's metadata: the field the provider names (when it names one) and why. */
export interface ClientMetadataProblem {
  field?: string;
  description: string;
}

let validator: Promise<Provider> | undefined;

/**
 * A provider that is never served, only asked to validate clients. It has the features tenants
 * have (their tenant-specific settings, such as the introspection policy, do not affect client
 * metadata) and throwaway keys of the algorithms tenants sign with, since the signing algorithms a
 * client may ask for (`id_token_signed_response_alg` defaults to RS256) follow the keys.
 */
function validatorProvider(): Promise<Provider> {
  validator ??= (async () => {
    const keys = await Promise.all(
      signingAlgs.map(async (alg) => {
        const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
        return { ...(await exportJWK(privateKey)), alg, use: 'sig' };
      }),
    );
    return new Provider('https://client-validation.invalid', {
      ...clientMetadataSettings,
      jwks: { keys },
      // It stores nothing; an adapter that refuses also keeps the provider's in-memory default (and its warning) out.
      adapter: (model) => {
        throw new Error(`the client validator stores no ${model}`);
      },
      features: { ...baseFeatures, introspection: { enabled: true }, rpInitiatedLogout: { enabled: true }, resourceIndicators: { enabled: true }, deviceFlow: { enabled: true }, ciba: { enabled: true, deliveryModes: ['poll', 'ping'], triggerAuthenticationDevice: refuse, validateRequestContext: refuse, verifyUserCode: refuse } },
    });
  })();
  return validator;
}

/** The validator serves no requests: its CIBA hooks are never called. */
const refuse = async (): Promise<never> => {
  throw new Error('the client validator serves no CIBA requests');
};

/**
 * Checks metadata to be stored as oidc-provider will when it loads the client, so a client that is
 * accepted is one every tenant's provider can serve. Needs no tenant and no tenant keys: a client
 * can be registered before its tenant's first keys exist.
 */
export async function clientMetadataProblem(metadata: Record<string, unknown> & { client_id: string }): Promise<ClientMetadataProblem | undefined> {
  // RFC 7591 2.1: response and grant types must agree (the provider does not check this pair).
  const grantTypes = (metadata['grant_types'] ?? ['authorization_code']) as string[];
  const responseTypes = (metadata['response_types'] ?? ['code']) as string[];
  if (responseTypes.includes('code') !== grantTypes.includes('authorization_code')) {
    return { field: 'response_types', description: '["code"] goes with the "authorization_code" grant type, and only with it.' };
  }
  // A placeholder secret: the provider insists secret-based clients have one, the real one is generated later.
  const secret = usesSecret(metadata['token_endpoint_auth_method']) ? { client_secret: 'x'.repeat(43) } : {};
  const provider = await validatorProvider();
  try {
    await provider.Client.validate({ ...metadata, ...secret } as ClientMetadata);
    return undefined;
  } catch (error) {
    if (error instanceof errors.OIDCProviderError && (error.error === 'invalid_client_metadata' || error.error === 'invalid_redirect_uri')) {
      const description = error.error_description ?? error.message;
      const field = /^(?:invalid )?([a-z_]+)\b/.exec(description)?.[1];
      return { ...(field ? { field } : {}), description };
    }
    throw error;
  }
}
