import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, call, startAdminGatehouse } from '../admin/helpers.js';
import { Browser } from '../helpers/browser.js';
import { seedTenant, startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize } from '../helpers/login.js';

/** A fresh signing key pair: the private half for the client, the public JWK to register. */
async function keyPair(alg: 'ES256' | 'RS256' | 'Ed25519' = 'ES256', kid = `k-${alg}-${Math.random().toString(36).slice(2)}`) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { privateKey, jwk, kid };
}

/** An openid-client configuration authenticating with `private_key_jwt`. */
function keyClient(gh: TestGatehouse, tenant: string, clientId: string, key: CryptoKey, kid: string) {
  return client.discovery(new URL(gh.issuer(tenant)), clientId, undefined, client.PrivateKeyJwt({ key, kid }), { execute: [client.allowInsecureRequests] });
}

/** A client assertion written by hand, so its audience and jti can be chosen. */
function assertion(key: CryptoKey, kid: string, claims: { iss: string; aud: string; jti: string }) {
  return new SignJWT({ jti: claims.jti }).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(claims.iss).setSubject(claims.iss).setAudience(claims.aud).setIssuedAt().setExpirationTime('1m').sign(key);
}

async function tokenWithAssertion(gh: TestGatehouse, tenant: string, jwt: string) {
  const response = await fetch(`${gh.issuer(tenant)}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

let gh: TestGatehouse;
let root: string;
let signer: Awaited<ReturnType<typeof keyPair>>;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  await seedTenant(gh, 'acme');
  await seedTenant(gh, 'umbrella');
  signer = await keyPair();
});
afterAll(() => gh.stop());

describe('private_key_jwt through the admin API', () => {
  it('registers a client with an inline JWKS, gets no secret, and authenticates with openid-client (client credentials)', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/clients', {
      client_id: 'key-bot',
      client_name: 'Key bot',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [signer.jwk] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).not.toHaveProperty('client_secret');
    expect(created.body).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [signer.jwk] } });

    const config = await keyClient(gh, 'acme', 'key-bot', signer.privateKey, signer.kid);
    const tokens = await client.clientCredentialsGrant(config, {});
    expect(tokens.access_token).toBeTruthy();

    // A client that signs with keys has no secret to rotate.
    const rotate = await call(gh, root, 'POST', '/tenants/acme/clients/key-bot/rotate-secret');
    expect(rotate.status).toBe(400);
    expect(rotate.body.error_description).toContain('private_key_jwt');
  });

  it('refuses a key the client did not register: 401 invalid_client', async () => {
    const stranger = await keyPair();
    const config = await keyClient(gh, 'acme', 'key-bot', stranger.privateKey, signer.kid);
    const failure = await client.clientCredentialsGrant(config, {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(client.ResponseBodyError);
    expect((failure as client.ResponseBodyError).status).toBe(401);
    expect((failure as client.ResponseBodyError).error).toBe('invalid_client');
  });

  it('refuses a replayed assertion (its jti was used), also when the replays race', async () => {
    const jwt = await assertion(signer.privateKey, signer.kid, { iss: 'key-bot', aud: gh.issuer('acme'), jti: 'once-only' });
    expect((await tokenWithAssertion(gh, 'acme', jwt)).status).toBe(200);
    const replay = await tokenWithAssertion(gh, 'acme', jwt);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_client');

    const racing = await assertion(signer.privateKey, signer.kid, { iss: 'key-bot', aud: gh.issuer('acme'), jti: 'raced' });
    const results = await Promise.all(Array.from({ length: 5 }, () => tokenWithAssertion(gh, 'acme', racing)));
    expect(results.filter((result) => result.status === 200)).toHaveLength(1);
  });

  it("refuses an assertion made for another tenant's audience, even for a client of the same id and key there", async () => {
    const created = await call(gh, root, 'POST', '/tenants/umbrella/clients', { client_id: 'key-bot', client_name: 'Key bot', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [signer.jwk] } });
    expect(created.status).toBe(201);
    for (const aud of [gh.issuer('umbrella'), `${gh.issuer('umbrella')}/token`]) {
      const forUmbrella = await assertion(signer.privateKey, signer.kid, { iss: 'key-bot', aud, jti: `cross-${aud}` });
      const refused = await tokenWithAssertion(gh, 'acme', forUmbrella);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe('invalid_client');
    }
    const own = await assertion(signer.privateKey, signer.kid, { iss: 'key-bot', aud: `${gh.issuer('umbrella')}/token`, jti: 'own-umbrella' });
    expect((await tokenWithAssertion(gh, 'umbrella', own)).status).toBe(200);
  });

  it('signs users in with the authorization code grant, and a key rotated by PATCH takes over at once', async () => {
    const web = await keyPair('RS256');
    const redirectUri = 'http://127.0.0.1:9/key-cb';
    const created = await call(gh, root, 'POST', '/tenants/acme/clients', { client_id: 'key-web', client_name: 'Key web', redirect_uris: [redirectUri], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [web.jwk] } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const config = await keyClient(gh, 'acme', 'key-web', web.privateKey, web.kid);
    const { callback, verifier, state } = await authorize(new Browser(gh.origin), config, { redirectUri, scope: 'openid' });
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()?.sub).toBeTruthy();

    const next = await keyPair('Ed25519');
    expect((await call(gh, root, 'PATCH', '/tenants/acme/clients/key-web', { jwks: { keys: [next.jwk] } })).status).toBe(200);
    const old = await client.tokenIntrospection(config, tokens.access_token).catch((error: unknown) => error);
    expect((old as client.ResponseBodyError).status).toBe(401);
    const rotated = await keyClient(gh, 'acme', 'key-web', next.privateKey, next.kid);
    expect((await client.tokenIntrospection(rotated, tokens.access_token)).active).toBe(true);
  });

  it('refuses bad keys and key sets with a 400 naming the problem, and writes nothing', async () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), kid: 'p' };
    const base = { client_name: 'Bad', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt' };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ jwks: { keys: [privateJwk] } }, 'private'],
      [{ jwks: { keys: [{ ...signer.jwk, p: 'x' }] } }, 'private'],
      [{ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, 'private'],
      [{ jwks: { keys: [{ ...signer.jwk, kty: 'AKP' }] } }, 'kty'],
      [{ jwks: { keys: [{ ...signer.jwk, crv: 'P-384' }] } }, 'crv'],
      [{ jwks: { keys: [{ ...signer.jwk, use: 'enc' }] } }, 'use'],
      [{ jwks: { keys: [{ ...signer.jwk, alg: 'HS256' }] } }, 'alg'],
      [{ jwks: { keys: [{ ...rsa1024.publicKey.export({ format: 'jwk' }), kid: 'small' }] } }, '2048'],
      [{ jwks: { keys: [{ ...signer.jwk, x: 'not-a-point' }] } }, 'jwks'],
      [{ jwks: { keys: Array.from({ length: 11 }, (_, i) => ({ ...signer.jwk, kid: `k${i}` })) } }, 'jwks'],
      [{ jwks: { keys: [{ ...signer.jwk, kid: 'x'.repeat(5000) }] } }, 'jwks'],
      [{ jwks: { keys: [] } }, 'jwks'],
      [{ jwks: { keys: [signer.jwk], extra: 1 } }, 'jwks'],
      [{ jwks: { keys: [signer.jwk] }, jwks_uri: 'https://keys.example/jwks' }, 'jwks'],
      [{}, 'jwks'],
      [{ jwks_uri: 'http://keys.example/jwks' }, 'jwks_uri'],
      [{ jwks_uri: 'https://keys.example/jwks', token_endpoint_auth_signing_alg: 'HS256' }, 'token_endpoint_auth_signing_alg'],
      [{ jwks: { keys: [signer.jwk] }, token_endpoint_auth_method: 'client_secret_jwt' }, 'client_secret_jwt'],
    ];
    for (const [fields, problem] of cases) {
      const response = await call(gh, root, 'POST', '/tenants/acme/clients', { ...base, ...fields });
      expect(response.status, JSON.stringify(fields).slice(0, 200)).toBe(400);
      expect(response.body.error_description, JSON.stringify(fields).slice(0, 200)).toContain(problem);
    }
    // A secret-based client cannot turn key-based by PATCH (its secret would linger): register a new one.
    const secretBased = await call(gh, root, 'PATCH', '/tenants/acme/clients/web-app', { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [signer.jwk] } });
    expect(secretBased.status).toBe(400);
    expect((await call(gh, root, 'GET', '/tenants/acme/clients?limit=100')).body.items?.map((item) => item['client_name'])).not.toContain('Bad');
  });
});

describe('discovery lists exactly the client authentication methods that work', () => {
  it('registers and uses every advertised method at the token, introspection and revocation endpoints', async () => {
    const metadata = (await (await fetch(`${gh.issuer('acme')}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    const methods = metadata['token_endpoint_auth_methods_supported'] as string[];
    expect(methods).not.toContain('client_secret_jwt');
    expect([...methods].sort()).toEqual(['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt']);
    for (const variant of ['introspection_endpoint_auth_methods_supported', 'revocation_endpoint_auth_methods_supported']) {
      if (metadata[variant] !== undefined) expect(metadata[variant]).toEqual(methods);
    }
    expect(metadata['token_endpoint_auth_signing_alg_values_supported']).not.toContain('HS256');

    for (const method of methods) {
      const redirectUri = `http://127.0.0.1:9/${method}`;
      const key = await keyPair();
      const created = await call(gh, root, 'POST', '/tenants/acme/clients', {
        client_id: `m-${method}`,
        client_name: method,
        redirect_uris: [redirectUri],
        token_endpoint_auth_method: method,
        ...(method === 'private_key_jwt' ? { jwks: { keys: [key.jwk] } } : {}),
      });
      expect(created.status, `${method}: ${JSON.stringify(created.body)}`).toBe(201);
      const secret = created.body['client_secret'] as string | undefined;
      const auth = { client_secret_basic: () => client.ClientSecretBasic(secret!), client_secret_post: () => client.ClientSecretPost(secret!), private_key_jwt: () => client.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }), none: () => client.None() }[method as 'none']();
      const config = await client.discovery(new URL(gh.issuer('acme')), `m-${method}`, undefined, auth, { execute: [client.allowInsecureRequests] });
      const { callback, verifier, state } = await authorize(new Browser(gh.origin), config, { redirectUri, scope: 'openid' });
      const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
      expect(tokens.access_token, method).toBeTruthy();
      expect((await client.tokenIntrospection(config, tokens.access_token)).active, method).toBe(true);
      await client.tokenRevocation(config, tokens.access_token);
      expect((await client.tokenIntrospection(config, tokens.access_token)).active, method).toBe(false);
    }
  });
});

describe('private_key_jwt with a jwks_uri', () => {
  let keys: Server;
  let jwksUri: string;
  let requests = 0;

  beforeAll(async () => {
    keys = createServer((_request, response) => {
      requests += 1;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [signer.jwk] }));
    });
    await new Promise<void>((resolve) => keys.listen(0, '127.0.0.1', resolve));
    jwksUri = `http://127.0.0.1:${(keys.address() as { port: number }).port}/jwks`;
  });
  afterAll(() => new Promise<void>((resolve) => keys.close(() => resolve())));

  it('does not fetch keys from a loopback address unless http.allowPrivateNetworkFetch is on', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/clients', { client_id: 'uri-bot', client_name: 'Uri bot', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const config = await keyClient(gh, 'acme', 'uri-bot', signer.privateKey, signer.kid);
    const blocked = await client.clientCredentialsGrant(config, {}).catch((error: unknown) => error);
    expect(blocked).toBeInstanceOf(client.ResponseBodyError);
    expect((blocked as client.ResponseBodyError).error).toBe('invalid_client');
    expect(requests).toBe(0);

    const open = await startGatehouse({ http: { allowPrivateNetworkFetch: true } });
    try {
      await open.app.tenants.create({ id: 'acme', displayName: 'Acme' });
      await open.app.clients.create('acme', { client_id: 'uri-bot', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri });
      const allowed = await keyClient(open, 'acme', 'uri-bot', signer.privateKey, signer.kid);
      expect((await client.clientCredentialsGrant(allowed, {})).access_token).toBeTruthy();
      expect(requests).toBeGreaterThan(0);
    } finally {
      await open.stop();
    }
  });
});

describe('private_key_jwt for CIBA', () => {
  it('authenticates a CIBA client at the backchannel and token endpoints with a signed assertion, and refuses a key it did not register', async () => {
    expect((await call(gh, root, 'PATCH', '/tenants/umbrella', { security_policy: { ciba: { enabled: true } } })).status).toBe(200);
    const created = await call(gh, root, 'POST', '/tenants/umbrella/clients', {
      client_id: 'key-bank',
      client_name: 'Key bank',
      grant_types: ['urn:openid:params:grant-type:ciba'],
      backchannel_token_delivery_mode: 'poll',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [signer.jwk] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const bank = await keyClient(gh, 'umbrella', 'key-bank', signer.privateKey, signer.kid);
    const started = await client.initiateBackchannelAuthentication(bank, { scope: 'openid', login_hint: 'alice', binding_message: 'Key 1' });
    expect(started.auth_req_id).toBeTruthy();
    const poll = await client.genericGrantRequest(bank, 'urn:openid:params:grant-type:ciba', { auth_req_id: started.auth_req_id }).catch((error: { error?: string }) => error.error);
    expect(poll).toBe('authorization_pending');

    const stranger = await keyPair();
    const impostor = await keyClient(gh, 'umbrella', 'key-bank', stranger.privateKey, signer.kid);
    const refused = await client.initiateBackchannelAuthentication(impostor, { scope: 'openid', login_hint: 'alice' }).catch((error: { error?: string }) => error.error);
    expect(refused).toBe('invalid_client');
  });
});
