import * as client from 'openid-client';
import { CIBA_GRANT } from '../../src/domain/client-metadata.js';
import { Browser } from './browser.js';
import type { SeededTenant, TestGatehouse } from './gatehouse.js';
import { authorize, relyingParty } from './login.js';

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

/** A backchannel authentication request: its response, or the error the provider answered. */
export async function initiate(config: client.Configuration, params: Record<string, string>) {
  try {
    return { response: await client.initiateBackchannelAuthentication(config, { scope: 'openid', ...params }) };
  } catch (error) {
    return { error: (error as { error?: string }).error ?? String(error), description: (error as { error_description?: string }).error_description };
  }
}

/** One poll of the token endpoint: tokens, or the error. */
export async function pollOnce(config: client.Configuration, authReqId: string) {
  try {
    return { tokens: await client.genericGrantRequest(config, CIBA_GRANT, { auth_req_id: authReqId }) };
  } catch (error) {
    return { error: (error as { error?: string }).error ?? String(error) };
  }
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
