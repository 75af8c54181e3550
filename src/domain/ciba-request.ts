/**
 * What the user's side is shown of a pending CIBA request (the approval API's list, the
 * notifications), read from the provider's stored request. Never its `auth_req_id`, which would let
 * whoever reads it collect the client's tokens.
 */
export interface PendingRequest {
  /** the tenant's MAC of the request's id: stable, but useless to poll with */
  id: string;
  client_id: string;
  client_name?: string;
  binding_message?: string;
  scope: string;
  acr_values: string[];
  expires_at: string;
}

/** The fields of oidc-provider's `BackchannelAuthenticationRequest` read here (domain/ does not import the provider). */
export interface StoredCibaRequest {
  jti: string;
  clientId?: string | undefined;
  params?: Record<string, unknown> | undefined;
  scope?: string | undefined;
  exp?: number | undefined;
}

/** The tenant's MAC (`TenantContext.mac`). */
export type TenantMac = (purpose: string, value: string) => string;

/** The public id of a request: what the approval API, the console's page and notifications name it by. */
export function publicRequestId(mac: TenantMac, request: StoredCibaRequest): string {
  return mac('ciba-request', request.jti);
}

/** The request's `acr_values`, as a list. */
export function askedAcrValues(request: StoredCibaRequest): string[] {
  const asked = request.params?.['acr_values'];
  return typeof asked === 'string' ? asked.split(' ').filter(Boolean) : [];
}

export function describeRequest(mac: TenantMac, request: StoredCibaRequest & { clientId: string }, clientName: string | undefined): PendingRequest {
  const binding = request.params?.['binding_message'];
  return {
    id: publicRequestId(mac, request),
    client_id: request.clientId,
    ...(clientName ? { client_name: clientName } : {}),
    ...(typeof binding === 'string' ? { binding_message: binding } : {}),
    scope: request.scope ?? '',
    acr_values: askedAcrValues(request),
    expires_at: new Date((request.exp ?? 0) * 1000).toISOString(),
  };
}
