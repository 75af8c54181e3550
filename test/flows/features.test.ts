import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, createRemoteJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, expectRedirect } from '../helpers/browser.js';
import { TEST_PASSWORD, freePort, seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';

describe('PAR, DPoP and back-channel logout', () => {
  let gh: TestGatehouse;
  let acme: SeededTenant;
  let rp: client.Configuration;

  beforeAll(async () => {
    // The relying party's back-channel endpoint below is on loopback, which is refused by default.
    gh = await startGatehouse({ http: { allowPrivateNetworkFetch: true, shutdownGraceMs: 1000 } });
    acme = await seedTenant(gh, 'acme');
    rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
  });
  afterAll(() => gh.stop());

  it('completes a login whose parameters were pushed first (PAR)', async () => {
    const browser = new Browser(gh.origin);
    const verifier = client.randomPKCECodeVerifier();
    const url = await client.buildAuthorizationUrlWithPAR(rp, {
      redirect_uri: acme.client.redirectUri,
      scope: 'openid email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(url.searchParams.get('redirect_uri')).toBeNull();
    const login = expectPage(await browser.navigate(url.href, {}, acme.client.redirectUri));
    const consent = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    const callback = new URL(expectRedirect(await browser.submit(consent, 'form[action$="/consent"]', {}, acme.client.redirectUri)));
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier });
    expect(tokens.claims()?.sub).toBe(acme.userId);
    // A request_uri is single use.
    const again = new URL(expectRedirect(await new Browser(gh.origin).navigate(url.href, {}, acme.client.redirectUri)));
    expect(again.searchParams.get('error')).toBe('invalid_request_uri');
  });

  it('binds tokens to a DPoP key and refuses them without the proof', async () => {
    const dpop = client.getDPoPHandle(rp, await client.randomDPoPKeyPair('ES256'));
    const browser = new Browser(gh.origin);
    const { callback, verifier, state } = await authorize(browser, rp, { redirectUri: acme.client.redirectUri });
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP: dpop });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const claims = await client.fetchUserInfo(rp, tokens.access_token, acme.userId, { DPoP: dpop });
    expect(claims.email).toBe('alice@example.com');
    const asBearer = await fetch(`${gh.issuer('acme')}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(asBearer.status).toBe(401);
  });

  it('refuses a replayed DPoP proof (replay state lives in the shared store)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const tokenUrl = `${gh.issuer('acme')}/token`;
    const proofWith = (jti: string) =>
      new SignJWT({ htm: 'POST', htu: tokenUrl, jti }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).setIssuedAt().sign(privateKey);
    const request = (proof: string) =>
      fetch(tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`web-app:${acme.client.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          dpop: proof,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: acme.api, scope: 'read' }).toString(),
      });
    const proof = await proofWith(randomBytes(16).toString('base64url'));
    expect((await request(proof)).status).toBe(200);
    const replay = await request(proof);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
    // The same key with a fresh proof is fine: it was the replay that failed.
    expect((await request(await proofWith(randomBytes(16).toString('base64url')))).status).toBe(200);
  });

  it('delivers a signed logout token to the back-channel logout URI', async () => {
    const received: string[] = [];
    const rpServer = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push(new URLSearchParams(body).get('logout_token') ?? '');
        res.writeHead(200).end();
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => rpServer.listen(port, '127.0.0.1', resolve));
    try {
      const { clientSecret: secret } = await gh.app.clients.create('acme', {
        client_id: 'bcl-app',
        redirect_uris: ['http://127.0.0.1:9/bcl'],
        post_logout_redirect_uris: ['http://127.0.0.1:9/bcl-out'],
        backchannel_logout_uri: `http://127.0.0.1:${port}/backchannel`,
        backchannel_logout_session_required: true,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      });
      const bclRp = await relyingParty(gh, 'acme', 'bcl-app', secret!);
      const browser = new Browser(gh.origin);
      const { callback, verifier, state } = await authorize(browser, bclRp, { redirectUri: 'http://127.0.0.1:9/bcl', scope: 'openid' });
      const tokens = await client.authorizationCodeGrant(bclRp, callback, { pkceCodeVerifier: verifier, expectedState: state });
      const confirm = expectPage(await browser.navigate(client.buildEndSessionUrl(bclRp, { id_token_hint: tokens.id_token! }).href));
      await browser.submit(confirm, 'form', {}, 'http://127.0.0.1:9/', { button: { name: 'logout', value: 'yes' } });

      expect(received).toHaveLength(1);
      const jwks = createRemoteJWKSet(new URL(`${gh.issuer('acme')}/jwks`));
      const { payload } = await jwtVerify(received[0]!, jwks, { issuer: gh.issuer('acme'), audience: 'bcl-app', typ: 'logout+jwt' });
      expect(payload.sub).toBe(acme.userId);
      expect(payload['sid']).toBe(decodeJwt(tokens.id_token!)['sid']);
      expect(payload['events']).toHaveProperty(['http://schemas.openid.net/event/backchannel-logout']);
    } finally {
      await new Promise((resolve) => rpServer.close(resolve));
    }
  });
});

describe('restart in the middle of a login (file store)', () => {
  it('completes the flow on the restarted server', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-restart-'));
    const settings = { port: await freePort(), dataDir, store: { kind: 'nedb' as const }, masterKey: randomBytes(32).toString('base64') };
    try {
      let gh = await startGatehouse(settings);
      const acme = await seedTenant(gh, 'acme');
      const rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
      const browser = new Browser(gh.origin);
      const verifier = client.randomPKCECodeVerifier();
      const url = client.buildAuthorizationUrl(rp, {
        redirect_uri: acme.client.redirectUri,
        scope: 'openid profile',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const login = expectPage(await browser.navigate(url.href));

      await gh.stop();
      gh = await startGatehouse(settings);

      try {
        const consent = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
        const callback = new URL(expectRedirect(await browser.submit(consent, 'form[action$="/consent"]', {}, acme.client.redirectUri)));
        const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier });
        expect(tokens.claims()?.sub).toBe(acme.userId);
      } finally {
        await gh.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
