import * as client from 'openid-client';
import { Browser } from './browser.js';
import type { SeededTenant, TestGatehouse } from './gatehouse.js';
import { authorize, relyingParty } from './login.js';
import { call } from '../admin/helpers.js';

export const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';

/** A poll-mode CIBA client of `tenant` ("Call centre"), registered through the admin API: its relying party and secret. */
export async function cibaClient(gh: TestGatehouse, token: string, tenant: string, clientId = 'call-centre'): Promise<{ rp: client.Configuration; secret: string }> {
  const created = await call(gh, token, 'POST', `/tenants/${tenant}/clients`, { client_id: clientId, client_name: 'Call centre', grant_types: [CIBA_GRANT], backchannel_token_delivery_mode: 'poll' });
  if (created.status !== 201) throw new Error(`client not registered: ${JSON.stringify(created.body)}`);
  const secret = String(created.body['client_secret']);
  return { rp: await relyingParty(gh, tenant, clientId, secret), secret };
}

/** A backchannel authentication request through openid-client; its error code instead of a throw. */
export async function startRequest(rp: client.Configuration, params: Record<string, string>): Promise<{ response?: client.BackchannelAuthenticationResponse; error?: string }> {
  try {
    return { response: await client.initiateBackchannelAuthentication(rp, { scope: 'openid', ...params }) };
  } catch (error) {
    return { error: (error as { error?: string }).error ?? String(error) };
  }
}

/**
 * An access token of `username` for the tenant's CIBA approval API (resource `{issuer}/ciba`, scope
 * `ciba:approve`), through a password sign-in at the seeded first-party web app.
 */
export async function approvalTokenOf(gh: TestGatehouse, seeded: SeededTenant, username: string): Promise<string> {
  const resource = `${gh.issuer(seeded.id)}/ciba`;
  const rp = await relyingParty(gh, seeded.id, seeded.client.clientId, seeded.client.clientSecret);
  const { callback, verifier, state } = await authorize(new Browser(gh.origin), rp, { redirectUri: seeded.client.redirectUri, scope: 'openid ciba:approve', username, extra: { resource } });
  return (await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource })).access_token;
}
