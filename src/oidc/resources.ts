import { errors, type Configuration } from 'oidc-provider';
import type { ResourceRepository } from '../domain/resources.js';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

/**
 * Resource indicators (RFC 8707): an access token for a registered API carries that API as its
 * audience, only the API's own scopes, and is a JWT (RFC 9068) unless the API asks for opaque
 * tokens. An unregistered resource is `invalid_target`.
 */
export function resourceIndicatorsFor(tenant: string, resources: ResourceRepository): ResourceIndicators {
  return {
    enabled: true,
    defaultResource: (_ctx, _client, oneOf) => oneOf,
    useGrantedResource: () => true,
    async getResourceServerInfo(_ctx, resourceIndicator) {
      const api = await resources.find(tenant, resourceIndicator);
      if (!api) throw new errors.InvalidTarget(`${resourceIndicator} is not a registered API of this tenant`);
      return {
        scope: api.scopes.map((scope) => scope.name).join(' '),
        audience: api.identifier,
        accessTokenTTL: api.accessTokenTTL,
        accessTokenFormat: api.accessTokenFormat,
        ...(api.accessTokenFormat === 'jwt' ? { jwt: { sign: { alg: 'RS256' as const } } } : {}),
      };
    },
  };
}
