/**
 * Where a tenant's protocol state lives (docs/architecture.md, "Where oidc-provider's models
 * live"): sessions, interactions, codes and access tokens on the short-lived state port (Redis or
 * its store-backed default), grants and refresh tokens in the store.
 * Revoking a grant reaches both homes; deleting a tenant empties both. The expectations follow the
 * Gatehouse under test, so the same file holds for a Redis-configured one.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOidcAccountIndex, shortLivedHomeOf } from '../../adapters/oidc/routing.js';
import { Browser, expectPage, expectRedirect } from '../helpers/browser.js';
import { seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';
import { BOOTSTRAP, adminToken, call } from '../admin/helpers.js';

let gh: TestGatehouse;
/** Whether the short-lived models are on the port rather than in the store (`shortLivedHomeOf`). */
const routed = () => shortLivedHomeOf(gh.app.ephemeral) !== undefined;

beforeAll(async () => {
  gh = await startGatehouse({ bootstrap: BOOTSTRAP });
});
afterAll(() => gh.stop());

async function signedIn(tenantId: string, scope?: string) {
  const tenant: SeededTenant = await seedTenant(gh, tenantId);
  const rp = await relyingParty(gh, tenantId, tenant.client.clientId, tenant.client.clientSecret);
  const browser = new Browser(gh.origin);
  const result = await authorize(browser, rp, { redirectUri: tenant.client.redirectUri, ...(scope ? { scope } : {}) });
  const tokens = await client.authorizationCodeGrant(rp, result.callback, { pkceCodeVerifier: result.verifier, expectedState: result.state });
  return { tenant, rp, browser, tokens };
}

/** The models of a tenant's instances in the store's `oidc` collection. */
async function storedModels(tenantId: string): Promise<string[]> {
  const docs = await gh.app.store.collection<{ _id: string; model: string }>('oidc').find({ tenant: tenantId });
  return [...new Set(docs.map((doc) => doc.model))].sort();
}

/** The models of an account's live instances, in whichever home the tenant keeps them. */
async function liveModels(tenantId: string, accountId: string): Promise<string[]> {
  const index = createOidcAccountIndex({ store: gh.app.store, ephemeral: shortLivedHomeOf(gh.app.ephemeral), tenant: tenantId });
  const models = ['Session', 'AuthorizationCode', 'AccessToken', 'Grant', 'RefreshToken'];
  const found = await Promise.all(models.map(async (model) => ((await index.find(model, accountId, { limit: 10 })).length > 0 ? [model] : [])));
  return found.flat().sort();
}

describe('the homes of oidc-provider models', () => {
  it('keeps the session, code and access token short-lived and the grant and refresh token durable', async () => {
    const { tenant, rp, tokens } = await signedIn('homes');
    expect(tokens.refresh_token).toBeTruthy();
    const durable = ['Consent', 'Grant', 'RefreshToken'];
    // The interaction was destroyed when the login finished; the consumed code stays until it expires.
    const shortLived = ['AccessToken', 'AuthorizationCode', 'Session'];
    expect(await storedModels('homes')).toEqual(routed() ? durable : [...durable, ...shortLived].sort());
    expect(await liveModels('homes', tenant.userId)).toEqual(['AccessToken', 'AuthorizationCode', 'Grant', 'RefreshToken', 'Session']);
    // And the provider finds them there: the access token works and the refresh token rotates.
    expect((await client.tokenIntrospection(rp, tokens.access_token)).active).toBe(true);
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect((await client.tokenIntrospection(rp, refreshed.access_token)).active).toBe(true);
  });

  it('revoking a refresh token at /revocation ends the access tokens of its grant too', async () => {
    const { rp, tokens } = await signedIn('revoke-rt');
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    await client.tokenRevocation(rp, refreshed.refresh_token!, { token_type_hint: 'refresh_token' });
    expect((await client.tokenIntrospection(rp, refreshed.access_token)).active).toBe(false);
    expect((await client.tokenIntrospection(rp, tokens.access_token)).active).toBe(false);
    await expect(client.fetchUserInfo(rp, refreshed.access_token, client.skipSubjectCheck)).rejects.toThrow();
    await expect(client.refreshTokenGrant(rp, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // Garbage and unknown tokens are answered as the RFC says (200, nothing revoked).
    await client.tokenRevocation(rp, 'x'.repeat(5000));
    await client.tokenRevocation(rp, 'not-a-token', { token_type_hint: 'access_token' });
  });

  it('signing out ends the grant: its access and refresh tokens stop working, the session is gone', async () => {
    // Without offline_access the grant ends with the session (with it, oidc-provider keeps it past logout).
    const { tenant, rp, browser, tokens } = await signedIn('logout', 'openid profile');
    expect(tokens.refresh_token).toBeTruthy();
    const endSession = client.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/signed-out' });
    const confirm = expectPage(await browser.navigate(endSession.href, {}, 'http://127.0.0.1:9/'));
    expectRedirect(await browser.submit(confirm, 'form', {}, 'http://127.0.0.1:9/', { button: { name: 'logout', value: 'yes' } }));
    expect((await client.tokenIntrospection(rp, tokens.access_token)).active).toBe(false);
    await expect(client.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await liveModels('logout', tenant.userId)).toEqual([]);
    expect(await storedModels('logout')).toEqual(['Consent']);
    // The browser has to sign in again.
    const again = await authorize(new Browser(gh.origin), rp, { redirectUri: tenant.client.redirectUri });
    expect(again.callback.searchParams.get('code')).toBeTruthy();
  });

  it('deleting a tenant deletes its state in both homes, and no other tenant’s', async () => {
    const root = await adminToken(gh);
    const doomed = await signedIn('doomed');
    const survivor = await signedIn('survivor');
    expect(await liveModels('doomed', doomed.tenant.userId)).toContain('Session');
    expect((await call(gh, root, 'DELETE', '/tenants/doomed')).status).toBe(204);
    expect(await storedModels('doomed')).toEqual([]);
    expect(await liveModels('doomed', doomed.tenant.userId)).toEqual([]);
    expect(await liveModels('survivor', survivor.tenant.userId)).toContain('Session');
  });
});
