/**
 * CIBA from the outside, for the flow tests: a client's requests and polls with openid-client, the
 * tenant's own app deciding them through the approval API with a user's access token, and the
 * account console's live list read as a server-sent event stream.
 */
import * as client from 'openid-client';
import { expect } from 'vitest';
import { adminToken, BOOTSTRAP, call } from '../admin/helpers.js';
import { Browser } from './browser.js';
import { seedTenant, type SeededTenant, type TestGatehouse } from './gatehouse.js';
import { authorize } from './login.js';

export const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';

/**
 * A CIBA client of `tenant` (confidential, poll by default) registered straight in the repository:
 * its openid-client configuration and its secret (for requests made without openid-client).
 */
export async function registerCibaClient(gh: TestGatehouse, tenant: string, metadata: Record<string, unknown> = {}): Promise<{ rp: client.Configuration; secret: string }> {
  const created = await gh.app.clients.create(tenant, {
    client_id: 'call-centre',
    client_name: 'Call centre',
    grant_types: [CIBA_GRANT],
    response_types: [],
    redirect_uris: [],
    backchannel_token_delivery_mode: 'poll',
    token_endpoint_auth_method: 'client_secret_basic',
    ...metadata,
  });
  return { rp: await client.discovery(new URL(gh.issuer(tenant)), created.clientId, created.clientSecret!, undefined, { execute: [client.allowInsecureRequests] }), secret: created.clientSecret! };
}

/** {@link registerCibaClient}'s openid-client configuration alone. */
export async function cibaClient(gh: TestGatehouse, tenant: string, metadata: Record<string, unknown> = {}): Promise<client.Configuration> {
  return (await registerCibaClient(gh, tenant, metadata)).rp;
}

export { BOOTSTRAP };

export async function rpOf(gh: TestGatehouse, tenant: string, clientId: string, secret: string): Promise<client.Configuration> {
  return client.discovery(new URL(gh.issuer(tenant)), clientId, secret, undefined, { execute: [client.allowInsecureRequests] });
}

/** A backchannel authentication request; an error comes back as its wire code and description. */
export async function initiate(config: client.Configuration, params: Record<string, string>) {
  try {
    return { response: await client.initiateBackchannelAuthentication(config, { scope: 'openid', ...params }) };
  } catch (error) {
    return { error: (error as { error?: string }).error ?? String(error), description: (error as { error_description?: string }).error_description };
  }
}

/** One poll of the token endpoint: tokens, or the error code. */
export async function pollOnce(config: client.Configuration, authReqId: string) {
  try {
    return { tokens: await client.genericGrantRequest(config, CIBA_GRANT, { auth_req_id: authReqId }) };
  } catch (error) {
    return { error: (error as { error?: string }).error ?? String(error) };
  }
}

/** An access token of `username` for the tenant's CIBA approval API, through the first-party web app's sign-in. */
export async function approvalToken(server: TestGatehouse, seeded: SeededTenant, username = 'alice'): Promise<string> {
  const resource = `${server.issuer(seeded.id)}/ciba`;
  const rp = await client.discovery(new URL(server.issuer(seeded.id)), seeded.client.clientId, seeded.client.clientSecret, undefined, { execute: [client.allowInsecureRequests] });
  const { callback, verifier, state } = await authorize(new Browser(server.origin), rp, { redirectUri: seeded.client.redirectUri, scope: 'openid ciba:approve', username, extra: { resource } });
  const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource });
  return tokens.access_token;
}

/** A call of the approval API of tenant `acme`. */
export async function api(server: TestGatehouse, token: string, method: 'GET' | 'POST', path: string) {
  const response = await fetch(`${server.issuer('acme')}/ciba${path}`, { method, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined, challenge: response.headers.get('www-authenticate') };
}

/** The id the approval API gives the user's pending request with this binding message. */
export async function pendingId(server: TestGatehouse, token: string, bindingMessage: string): Promise<string> {
  const list = await api(server, token, 'GET', '/requests');
  expect(list.status, JSON.stringify(list.body)).toBe(200);
  const item = (list.body!['items'] as Array<Record<string, unknown>>).find((entry) => entry['binding_message'] === bindingMessage);
  expect(item, JSON.stringify(list.body)).toBeTruthy();
  return String(item!['id']);
}

/**
 * Tenant `acme` with CIBA on, its web app first-party (so it may ask for the approval API), and a
 * CIBA client registered through the admin API with `metadata` (a poll client unless it says otherwise).
 */
export async function cibaTenant(gh: TestGatehouse, metadata: Record<string, unknown> = {}): Promise<{ seeded: SeededTenant; root: string; bank: client.Configuration; clientId: string; secret: string }> {
  const seeded = await seedTenant(gh, 'acme');
  const root = await adminToken(gh);
  expect((await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { ciba: { enabled: true } } })).status).toBe(200);
  expect((await call(gh, root, 'PATCH', `/tenants/acme/clients/${seeded.client.clientId}`, { first_party: true })).status).toBe(200);
  const created = await call(gh, root, 'POST', '/tenants/acme/clients', { client_name: 'Bank', grant_types: [CIBA_GRANT], backchannel_token_delivery_mode: 'poll', ...metadata });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const { client_id: clientId, client_secret: secret } = created.body as { client_id: string; client_secret: string };
  return { seeded, root, bank: await rpOf(gh, 'acme', clientId, secret), clientId, secret };
}

/** Reads a server-sent event stream one `data` event at a time (JSON), for the console's live list. */
export class EventStreamReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = '';

  constructor(response: Response) {
    if (!response.body) throw new Error('an event stream without a body');
    this.#reader = response.body.getReader();
  }

  /** The next event's data, parsed; rejects after `timeoutMs` without one. */
  async next<T = unknown>(timeoutMs = 5_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end >= 0) {
        const event = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const data = event
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice(6))
          .join('\n');
        if (data) return JSON.parse(data) as T;
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event within ${timeoutMs} ms`);
      const chunk = await Promise.race([this.#reader.read(), new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), left))]);
      if (chunk === 'timeout') throw new Error(`no event within ${timeoutMs} ms`);
      if (chunk.done) throw new Error('the event stream ended');
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
    }
  }

  /** The next event whose data passes `test` (earlier ones are skipped: periodic refreshes). */
  async until<T>(test: (data: T) => boolean, timeoutMs = 5_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const data = await this.next<T>(Math.max(1, deadline - Date.now()));
      if (test(data)) return data;
    }
  }

  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => undefined);
  }
}

