import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

describe('client secrets at rest', () => {
  let gh: TestGatehouse;
  let basicSecret: string;
  let postSecret: string;

  beforeAll(async () => {
    gh = await startGatehouse();
    await gh.app.tenants.create({ id: 'acme', displayName: 'Acme' });
    basicSecret = (await gh.app.clients.create('acme', { client_id: 'basic-app', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] })).clientSecret!;
    postSecret = (await gh.app.clients.create('acme', { client_id: 'post-app', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_post' })).clientSecret!;
  });
  afterAll(() => gh.stop());

  const token = (headers: Record<string, string>, body: Record<string, string>) =>
    fetch(`${gh.issuer('acme')}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ grant_type: 'client_credentials', ...body }).toString() });

  it('stores only a hash of the secret, never the secret itself', async () => {
    const docs = await gh.app.store.collection('clients').find({ tenant: 'acme' });
    expect(docs).toHaveLength(2);
    const raw = JSON.stringify(docs);
    expect(raw).not.toContain(basicSecret);
    expect(raw).not.toContain(postSecret);
    expect(raw).toContain('sha256:');
  });

  it('authenticates the right secret by Basic and by POST, and refuses a wrong or empty one', async () => {
    const basic = (secret: string) => ({ authorization: `Basic ${Buffer.from(`basic-app:${encodeURIComponent(secret)}`).toString('base64')}` });
    expect((await token(basic(basicSecret), {})).status).toBe(200);
    expect((await token(basic(`${basicSecret}x`), {})).status).toBe(401);
    expect((await token(basic(postSecret), {})).status).toBe(401);
    expect((await token({}, { client_id: 'post-app', client_secret: postSecret })).status).toBe(200);
    expect((await token({}, { client_id: 'post-app', client_secret: basicSecret })).status).toBe(401);
    expect((await token({}, { client_id: 'post-app', client_secret: '' })).status).toBe(401);
    // The secret of one client never authenticates another, whichever method is used
    // (oidc-provider accepts basic and post alike for a client registered with either).
    expect((await token({}, { client_id: 'basic-app', client_secret: postSecret })).status).toBe(401);
    expect((await token({ authorization: `Basic ${Buffer.from(`post-app:${basicSecret}`).toString('base64')}` }, {})).status).toBe(401);
  });

  it('makes a rotated secret the only one that works, at once', async () => {
    const rotated = await gh.app.clients.rotateSecret('acme', 'basic-app');
    gh.gatehouse.pool.evict('acme');
    const basic = (secret: string) => ({ authorization: `Basic ${Buffer.from(`basic-app:${secret}`).toString('base64')}` });
    expect((await token(basic(basicSecret), {})).status).toBe(401);
    expect((await token(basic(rotated!), {})).status).toBe(200);
  });
});
