import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collection, Store } from '../../adapters/store.js';
import { Browser, expectPage, expectRedirect } from '../helpers/browser.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { seedTenant, type SeededTenant } from '../helpers/gatehouse.js';
import { openLoginPage } from '../helpers/login.js';

/** The store, counting every read of the `tenants` collection. */
function countingTenantReads(store: Store, reads: { count: number }): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      // Bound to the real object: the stores keep their state in private fields.
      const own = Reflect.get(target, property, receiver) as unknown;
      if (property !== 'collection') return typeof own === 'function' ? (own as (...a: unknown[]) => unknown).bind(target) : own;
      return (name: string) => {
        const collection = target.collection(name);
        if (name !== 'tenants') return collection;
        return new Proxy(collection, {
          get(inner, method, innerReceiver) {
            const value = Reflect.get(inner, method, innerReceiver) as unknown;
            if (typeof value !== 'function') return value;
            if (!['find', 'findOne', 'count'].includes(String(method))) return (value as (...a: unknown[]) => unknown).bind(inner);
            return (...args: unknown[]) => {
              reads.count += 1;
              return (value as (...a: unknown[]) => unknown).apply(inner, args);
            };
          },
        }) as Collection;
      };
    },
  });
}

/**
 * Review defect 21: the tenant's settings (here its password policy) come from its context,
 * loaded when the context is built, not from the store at every step of a sign-in.
 */
describe('tenant settings during a sign-in', () => {
  const reads = { count: 0 };
  let cluster: Cluster;
  let acme: SeededTenant;

  beforeAll(async () => {
    cluster = await startCluster({ size: 1, wrapStore: (store) => countingTenantReads(store, reads) });
    acme = await seedTenant({ app: cluster.instances[0]!.app }, 'acme');
    await cluster.gh.app.tenants.update('acme', { securityPolicy: { password: { minLength: 14 } } });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('reads no tenant document after the context is built, through every change-password render and submit', async () => {
    const { app } = cluster.instances[0]!;
    const user = await app.users.create('acme', { username: 'newbie', passwordHash: await app.passwords.hash('temporary pw 1') });
    await app.users.setPassword('acme', user._id, await app.passwords.hash('temporary pw 1'), true);
    const rp = await client.discovery(new URL(cluster.gh.issuer('acme')), acme.client.clientId, acme.client.clientSecret, undefined, { execute: [client.allowInsecureRequests] });
    const browser = new Browser(cluster.gh.origin);
    const login = await openLoginPage(browser, rp, acme.client.redirectUri);
    reads.count = 0;

    let page = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'newbie', password: 'temporary pw 1' }));
    expect(page.$('#new_password-hint').text()).toContain('At least 14');
    page = expectPage(await browser.navigate(page.url));
    for (const bad of ['short', 'thirteen char']) {
      page = expectPage(await browser.submit(page, 'form[action$="/change-password"]', { new_password: bad, confirm_password: bad }));
      expect(page.status).toBe(400);
      expect(page.$('#new_password-error').text()).toMatch(/at least 14/);
    }
    const consent = expectPage(await browser.submit(page, 'form[action$="/change-password"]', { new_password: 'fourteen chars', confirm_password: 'fourteen chars' }, acme.client.redirectUri));
    expectRedirect(await browser.submit(consent, 'form[action$="/consent"]', {}, acme.client.redirectUri));
    expect(reads.count).toBe(0);
  });
});
