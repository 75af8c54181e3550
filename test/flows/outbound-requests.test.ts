import { Writable } from 'node:stream';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../config/schema.js';
import { Browser, expectPage } from '../helpers/browser.js';
import { seedTenant, startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { startBackchannelReceiver, type BackchannelReceiver } from '../helpers/backchannel-receiver.js';
import { authorize, relyingParty } from '../helpers/login.js';
import { BOOTSTRAP, adminToken, call } from '../admin/helpers.js';

const REDIRECT = 'http://127.0.0.1:9/outbound';
const SETTING = 'http.allowPrivateNetworkFetch';
const VARIABLE = 'GATEHOUSE_ALLOW_PRIVATE_NETWORK_FETCH';

let receiver: BackchannelReceiver;
beforeAll(async () => (receiver = await startBackchannelReceiver()));
afterAll(() => receiver.close());

/** Gatehouse with `overrides` whose log lines (JSON) are kept in `lines`. */
async function gatehouseWithLog(overrides: ConfigInput) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const gh = await startGatehouse({ demo: { seed: false }, ...overrides }, { logger: pino({ level: 'info' }, stream) });
  await seedTenant(gh, 'acme');
  return { gh, lines };
}

/** Registers a client with `backchannelUri`, signs alice in to it and signs her out at the provider. */
async function signInAndOut(gh: TestGatehouse, clientId: string, backchannelUri: string): Promise<void> {
  const { clientSecret } = await gh.app.clients.create('acme', {
    client_id: clientId,
    redirect_uris: [REDIRECT],
    backchannel_logout_uri: backchannelUri,
    backchannel_logout_session_required: true,
    grant_types: ['authorization_code'],
    response_types: ['code'],
  });
  const rp = await relyingParty(gh, 'acme', clientId, clientSecret!);
  const browser = new Browser(gh.origin);
  const { callback, verifier, state } = await authorize(browser, rp, { redirectUri: REDIRECT, scope: 'openid' });
  const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  const confirm = expectPage(await browser.navigate(client.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token! }).href));
  const done = expectPage(await browser.submit(confirm, 'form', {}, 'http://127.0.0.1:9/', { button: { name: 'logout', value: 'yes' } }));
  expect(done.status).toBe(200);
}

const calls = (path: string) => receiver.received.filter((entry) => entry.path === path);

/** The log line that says a call was refused, naming the URL. */
function refusal(lines: Array<Record<string, unknown>>, url: string) {
  return lines.find((line) => line['event'] === 'outbound.refused' && line['url'] === url);
}

describe('back-channel logout to a loopback relying party outside development (NODE_ENV=test)', () => {
  let gh: TestGatehouse;
  let lines: Array<Record<string, unknown>>;
  beforeAll(async () => ({ gh, lines } = await gatehouseWithLog({ bootstrap: BOOTSTRAP })));
  afterAll(() => gh.stop());

  it('is refused, and the log names the URL and the setting that allows it', async () => {
    expect(gh.app.config.env).toBe('test');
    const url = `http://127.0.0.1:${receiver.port}/test-mode`;
    await signInAndOut(gh, 'loopback-rp', url);
    expect(calls('/test-mode')).toEqual([]);

    const line = refusal(lines, url);
    expect(line, JSON.stringify(lines.filter((entry) => entry['level'] as number >= 40))).toBeDefined();
    expect(line!['level']).toBe(40);
    expect(line!['setting']).toBe(SETTING);
    expect(String(line!['msg'])).toContain(url);
    expect(String(line!['msg'])).toContain(SETTING);
    expect(String(line!['msg'])).toContain(VARIABLE);
    // Outside development the message also says that development mode allows loopback.
    expect(String(line!['msg'])).toContain('NODE_ENV=development');
    // The provider's own failure event says why too, not just "fetch failed".
    const failed = lines.find((entry) => entry['event'] === 'backchannel.error' && entry['client'] === 'loopback-rp');
    expect(String(failed?.['error'])).toContain(url);
    // No logout token in the log.
    expect(JSON.stringify(lines)).not.toMatch(/logout_token|eyJ[\w-]+\.eyJ/);
  });

  it('is refused when an admin disables the user (the end-sessions service), and the log says why', async () => {
    const url = `http://localhost:${receiver.port}/disabled`;
    const { clientSecret } = await gh.app.clients.create('acme', { client_id: 'disable-rp', redirect_uris: [REDIRECT], backchannel_logout_uri: url, grant_types: ['authorization_code'], response_types: ['code'] });
    const rp = await relyingParty(gh, 'acme', 'disable-rp', clientSecret!);
    await authorize(new Browser(gh.origin), rp, { redirectUri: REDIRECT, scope: 'openid' });
    const user = await gh.app.users.findByIdentifier('acme', 'alice');
    const disabled = await call(gh, await adminToken(gh), 'POST', `/tenants/acme/users/${user!._id}/disable`);
    expect(disabled.status).toBe(200);
    expect(calls('/disabled')).toEqual([]);
    expect(refusal(lines, url)?.['setting']).toBe(SETTING);
    const failed = lines.find((line) => line['event'] === 'backchannel.error' && Array.isArray(line['failed']));
    expect(JSON.stringify(failed?.['failed'])).toContain(`refused to call ${url}`);
    expect(JSON.stringify(failed?.['failed'])).toContain(VARIABLE);
  });
});

describe('back-channel logout in development mode', () => {
  let gh: TestGatehouse;
  let lines: Array<Record<string, unknown>>;
  beforeAll(async () => ({ gh, lines } = await gatehouseWithLog({ env: 'development' })));
  afterAll(() => gh.stop());

  it('delivers a valid logout token to a relying party on 127.0.0.1 and on localhost', async () => {
    expect(gh.app.config.env).toBe('development');
    for (const [clientId, host, path] of [['dev-rp', '127.0.0.1', '/dev'], ['dev-rp-named', 'localhost', '/dev-named']] as const) {
      await signInAndOut(gh, clientId, `http://${host}:${receiver.port}${path}`);
      await expect.poll(() => calls(path).length).toBe(1);
      const { payload } = await jwtVerify(calls(path)[0]!.token, createRemoteJWKSet(new URL(`${gh.issuer('acme')}/jwks`)), {
        issuer: gh.issuer('acme'),
        audience: clientId,
        typ: 'logout+jwt',
      });
      expect(payload['events']).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
      expect(payload.sub).toEqual(expect.any(String));
      expect(payload['sid']).toEqual(expect.any(String));
    }
    expect(lines.filter((line) => line['event'] === 'outbound.refused')).toEqual([]);
  });

  it('still refuses addresses that are not loopback by name or number (0.0.0.0 reaches this host too)', async () => {
    const url = `http://0.0.0.0:${receiver.port}/unspecified`;
    await signInAndOut(gh, 'dev-unspecified', url);
    expect(calls('/unspecified')).toEqual([]);
    const line = refusal(lines, url);
    expect(line?.['setting']).toBe(SETTING);
    expect(String(line?.['msg'])).toContain(VARIABLE);
    // Development mode is already on: the setting is the only way.
    expect(String(line?.['msg'])).not.toContain('NODE_ENV');
  });
});

describe('back-channel logout when the operator allows private network calls', () => {
  let gh: TestGatehouse;
  let lines: Array<Record<string, unknown>>;
  beforeAll(async () => ({ gh, lines } = await gatehouseWithLog({ http: { allowPrivateNetworkFetch: true, shutdownGraceMs: 1000 } })));
  afterAll(() => gh.stop());

  it('reaches loopback and other special-use addresses, outside development too', async () => {
    await signInAndOut(gh, 'allowed-rp', `http://0.0.0.0:${receiver.port}/allowed`);
    await expect.poll(() => calls('/allowed').length).toBe(1);
    expect(lines.filter((line) => line['event'] === 'outbound.refused')).toEqual([]);
  });
});
