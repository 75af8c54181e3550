/**
 * CIBA ping delivery that succeeds, end to end with openid-client: the client's notification
 * endpoint is a real HTTPS server with a certificate from a throwaway CA, which Gatehouse trusts
 * through `http.outboundCaFile` and nothing else (verification stays on). The endpoint is on
 * loopback, which a ping client may register only in development mode (docs/ciba.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, approvalToken, BOOTSTRAP, CIBA_GRANT, cibaTenant, pendingId, pollOnce } from '../helpers/ciba.js';
import { startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { startPingReceiver, type PingReceiver } from '../helpers/ping-receiver.js';
import { makeCertificates } from '../helpers/test-ca.js';

const certDir = mkdtempSync(join(tmpdir(), 'gatehouse-ping-'));
const haveCertificates = makeCertificates(certDir);
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

/** A development-mode Gatehouse with tenant acme and a ping client notified at the receiver. */
async function pingSetup(receiver: PingReceiver, http: { outboundCaFile?: string }) {
  const gh = await startGatehouse({ env: 'development', demo: { seed: false }, bootstrap: BOOTSTRAP, http });
  const { seeded, bank } = await cibaTenant(gh, { backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: `https://127.0.0.1:${receiver.port}/ping` });
  return { gh, seeded, bank, token: await approvalToken(gh, seeded) };
}

describe.skipIf(!haveCertificates)('ping delivery to an https endpoint under a private CA', () => {
  let receiver: PingReceiver;
  let gh: TestGatehouse;
  let seeded: SeededTenant;
  let bank: client.Configuration;
  let token: string;

  beforeAll(async () => {
    receiver = await startPingReceiver(certDir);
    ({ gh, seeded, bank, token } = await pingSetup(receiver, { outboundCaFile: join(certDir, 'ca.pem') }));
  });
  afterAll(async () => {
    await gh?.stop();
    await receiver?.close();
  });

  it('pings the client with its client_notification_token and the auth_req_id once approved, and the client collects its tokens', async () => {
    expect(gh.app.config.env).toBe('development');
    const started = await client.initiateBackchannelAuthentication(bank, { scope: 'openid', login_hint: 'alice', binding_message: 'Ping approve', client_notification_token: 'notify-approve-7f3a' });
    expect(receiver.received).toHaveLength(0);
    expect((await api(gh, token, 'POST', `/requests/${await pendingId(gh, token, 'Ping approve')}/approve`)).status).toBe(204);

    // The provider pings before the approval answers, so it has arrived by now.
    expect(receiver.received).toHaveLength(1);
    const ping = receiver.received[0]!;
    expect(ping).toMatchObject({ path: '/ping', authorization: 'Bearer notify-approve-7f3a', contentType: 'application/json' });
    expect(JSON.parse(ping.body)).toEqual({ auth_req_id: started.auth_req_id });

    const tokens = await client.genericGrantRequest(bank, CIBA_GRANT, { auth_req_id: JSON.parse(ping.body).auth_req_id as string });
    expect(tokens.claims()).toMatchObject({ sub: seeded.userId, amr: ['pwd'] });
    expect(tokens.access_token).toBeTruthy();
    expect(await gh.app.audit.list('acme', { type: 'ciba.ping_failed', limit: 5 })).toEqual([]);
  });

  it('pings the client after a denial too, and its token request hears access_denied', async () => {
    const before = receiver.received.length;
    const started = await client.initiateBackchannelAuthentication(bank, { scope: 'openid', login_hint: 'alice', binding_message: 'Ping deny', client_notification_token: 'notify-deny-51c0' });
    expect((await api(gh, token, 'POST', `/requests/${await pendingId(gh, token, 'Ping deny')}/deny`)).status).toBe(204);

    expect(receiver.received).toHaveLength(before + 1);
    const ping = receiver.received.at(-1)!;
    expect(ping.authorization).toBe('Bearer notify-deny-51c0');
    expect(JSON.parse(ping.body)).toEqual({ auth_req_id: started.auth_req_id });
    expect(await pollOnce(bank, started.auth_req_id)).toEqual({ error: 'access_denied' });
    expect(await gh.app.audit.list('acme', { type: 'ciba.ping_failed', limit: 5 })).toEqual([]);
  });

  it('refuses a ping request without a client_notification_token', async () => {
    await expect(client.initiateBackchannelAuthentication(bank, { scope: 'openid', login_hint: 'alice' })).rejects.toMatchObject({ error: 'invalid_request' });
  });
});

describe.skipIf(!haveCertificates)('ping delivery without http.outboundCaFile', () => {
  it('does not trust the private CA: the ping fails verification, is audited, and the client can still poll', async () => {
    const receiver = await startPingReceiver(certDir);
    const { gh, seeded, bank, token } = await pingSetup(receiver, {});
    try {
      const started = await client.initiateBackchannelAuthentication(bank, { scope: 'openid', login_hint: 'alice', binding_message: 'Untrusted', client_notification_token: 'notify-untrusted' });
      expect((await api(gh, token, 'POST', `/requests/${await pendingId(gh, token, 'Untrusted')}/approve`)).status).toBe(204);
      // The TLS handshake failed: no request reached the endpoint.
      expect(receiver.received).toEqual([]);
      expect(await gh.app.audit.list('acme', { type: 'ciba.ping_failed', limit: 5 })).toHaveLength(1);
      const tokens = await client.genericGrantRequest(bank, CIBA_GRANT, { auth_req_id: started.auth_req_id });
      expect(tokens.claims()?.sub).toBe(seeded.userId);
    } finally {
      await gh.stop();
      await receiver.close();
    }
  });
});
