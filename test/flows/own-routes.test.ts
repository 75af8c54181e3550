import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOwnRoute, ownRouters } from '../../src/tenant-routes.js';
import { seedTenant, startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

let gh: TestGatehouse;
/** A SAML app sign-on may start at Gatehouse for: its start page is ours (an unknown app's id is a 404 of ours). */
let samlAppId: string;

beforeAll(async () => {
  gh = await startGatehouse();
  await seedTenant(gh, 'acme');
  // Every surface on, so each route answers a page of ours (the CIBA pages are 404 where CIBA is off,
  // a proof-of-work challenge where its purpose is off).
  await gh.app.tenants.update('acme', { securityPolicy: { ciba: { enabled: true }, proofOfWork: { signInAfterFailures: 3 } } });
  samlAppId = (await gh.app.samlApps.create('acme', {
    name: 'Wiki', entityId: 'https://sp.test/metadata', acs: [{ url: 'https://sp.test/acs', binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', index: 0, isDefault: true }],
    signingCertificates: [], nameIdFormats: ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'], authnRequestsSigned: false, signResponse: true, signAssertion: true, encryptAssertion: false,
    encryptionAlgorithm: 'aes256-gcm', signatureAlgorithm: 'rsa-sha256', allowSha1: false, attributes: [], assertionLifetimeSeconds: 300, clockSkewSeconds: 60,
    idpInitiated: { allowed: true }, access: { allUsers: true, userIds: [], roles: [] },
  })).id;
});
afterAll(() => gh.stop());

/** Every route our routers register, with its parameters filled in: `[method, path]`. */
function registeredRoutes(): Array<[string, string]> {
  const values: Record<string, string> = { tenant: 'acme', uid: 'some-uid', step: 'password', appId: samlAppId, purpose: 'sign-in' };
  return ownRouters(gh.app, () => gh.gatehouse.url).flatMap((router) =>
    router.stack.flatMap((layer) => {
      if (typeof layer.path !== 'string') throw new Error(`a route registered by a pattern cannot be checked: ${String(layer.path)}`);
      const path = layer.path.replace(/:([A-Za-z]+)/g, (_match, name: string) => values[name] ?? `unknown-${name}`);
      return layer.methods.filter((method) => method !== 'HEAD').map((method): [string, string] => [method, path]);
    }),
  );
}

describe('routes of our own under /t/{tenant}', () => {
  it('recognises every route the interaction, account and branding routers register as ours', () => {
    const routes = registeredRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const [method, path] of routes) {
      expect(path.startsWith('/t/acme/'), `${method} ${path}`).toBe(true);
      expect(isOwnRoute(path.slice('/t/acme'.length)), `${method} ${path}`).toBe(true);
    }
  });

  it('leaves the provider its paths, including ones that only start like ours', () => {
    for (const rest of ['/', '', '/auth', '/token', '/jwks', '/me', '/.well-known/openid-configuration', '/session/end', '/interactions', '/interactionx/1', '/accounts', '/account.json', '/branding.css.map', '/branding']) {
      expect(isOwnRoute(rest), rest).toBe(false);
    }
  });

  it('answers each GET route itself over real HTTP once the tenant is built (the fast path included), never the provider’s 404', async () => {
    // Building the tenant turns on the protocol fast path, which must not take our pages.
    expect((await fetch(`${gh.issuer('acme')}/.well-known/openid-configuration`)).status).toBe(200);
    expect(gh.gatehouse.pool.peek('acme')).toBeDefined();
    const gets = registeredRoutes().filter(([method]) => method === 'GET');
    for (const [, path] of gets) {
      const response = await fetch(`${gh.origin}${path}`, { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(response.status, path).not.toBe(404);
      await response.body?.cancel();
    }
    // The provider still answers what is not ours.
    expect((await fetch(`${gh.issuer('acme')}/interactionx/1`, { redirect: 'manual' })).status).toBe(404);
  });
});
