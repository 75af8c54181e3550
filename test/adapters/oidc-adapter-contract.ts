/**
 * The oidc-provider adapter contract, run over every store backend: what the provider relies on
 * (find/upsert/consume/destroy/revokeByGrantId, lookups by uid and user code) plus what Gatehouse
 * adds: expiry checked on read, atomic single use, tenant isolation, clients from the repository.
 * With `ephemeral`, the short-lived models live there and the durable ones in the store
 * (adapters/oidc/routing.ts), and the cases that span both homes run too.
 */
import { errors } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EphemeralStore } from '../../adapters/ephemeral.js';
import { indexes } from '../../adapters/indexes.js';
import { createOidcAccountIndex, createOidcAdapterFactory } from '../../adapters/oidc/routing.js';
import type { Store } from '../../adapters/store.js';
import { describeRoutedOidcContract } from './oidc-routed-contract.js';

export interface OidcContractOptions {
  cleanup?: () => Promise<void>;
  /** The short-lived home under test, on the contract's clock; without it every model is in the store. */
  ephemeral?: (store: Store, now: () => number) => EphemeralStore | Promise<EphemeralStore>;
}

export function describeOidcAdapterContract(label: string, open: () => Promise<Store>, options: OidcContractOptions = {}): void {
  describe(`oidc adapter contract: ${label}`, () => {
    let store: Store | undefined;
    let ephemeral: EphemeralStore | undefined;
    let clock = Date.UTC(2030, 0, 1);
    let counter = 0;
    const clients: Record<string, Record<string, unknown>> = { app: { client_id: 'app', redirect_uris: ['https://rp.example/cb'] } };
    const findClient = vi.fn(async (clientId: string) => clients[clientId]);
    /** A fresh tenant per test, so tests never see each other's documents. */
    const tenant = () => `tenant-${++counter}`;
    const homes = (tenantId: string) => {
      if (!store) throw new Error('the store did not open');
      return { store, ...(ephemeral ? { ephemeral } : {}), tenant: tenantId, now: () => clock };
    };
    const adapters = (tenantId: string) => createOidcAdapterFactory({ ...homes(tenantId), findClient });
    const accounts = (tenantId: string) => createOidcAccountIndex(homes(tenantId));

    beforeAll(async () => {
      store = await open();
      await store.ensureIndexes('oidc', indexes.oidc ?? []);
      if (options.ephemeral) ephemeral = await options.ephemeral(store, () => clock);
    });
    afterAll(async () => {
      await ephemeral?.close();
      await store?.close();
      await options.cleanup?.();
    });

    it('upserts and finds a payload, dotted keys and all; unknown ids are undefined', async () => {
      const tokens = adapters(tenant())('AccessToken');
      const payload = {
        jti: 'at1',
        kind: 'AccessToken',
        grantId: 'g1',
        accountId: 'acc',
        scope: 'openid',
        extra: { 'https://api.example.com/v1': { 'read.write': true }, $odd: 1 },
        resource: 'https://api.example.com/v1',
      };
      await tokens.upsert('at1', payload, 3600);
      expect(await tokens.find('at1')).toEqual(payload);
      expect(await tokens.find('missing')).toBeUndefined();
      await tokens.upsert('at1', { ...payload, scope: 'openid profile' }, 3600);
      expect(await tokens.find('at1')).toMatchObject({ scope: 'openid profile' });
    });

    it('stops returning a payload once expiresIn has passed; without expiresIn it stays', async () => {
      const factory = adapters(tenant());
      const codes = factory('AuthorizationCode');
      const grants = factory('Grant');
      await codes.upsert('c1', { jti: 'c1', kind: 'AuthorizationCode' }, 10);
      await grants.upsert('g1', { jti: 'g1', kind: 'Grant' });
      clock += 9_000;
      expect(await codes.find('c1')).toBeDefined();
      clock += 1_000;
      expect(await codes.find('c1')).toBeUndefined();
      clock += 365 * 86_400_000;
      expect(await grants.find('g1')).toMatchObject({ jti: 'g1' });
    });

    it('finds a Session by uid and a DeviceCode by user code', async () => {
      const factory = adapters(tenant());
      await factory('Session').upsert('sess1', { jti: 'sess1', uid: 'uid-1', accountId: 'acc' }, 600);
      await factory('DeviceCode').upsert('dc1', { jti: 'dc1', userCode: 'ABCD-EFGH', grantId: 'g' }, 600);
      expect(await factory('Session').findByUid('uid-1')).toMatchObject({ jti: 'sess1', accountId: 'acc' });
      expect(await factory('Session').findByUid('uid-2')).toBeUndefined();
      expect(await factory('DeviceCode').findByUserCode('ABCD-EFGH')).toMatchObject({ jti: 'dc1' });
      expect(await factory('DeviceCode').findByUserCode('ZZZZ-ZZZZ')).toBeUndefined();
      // A lookup is scoped to its model too.
      expect(await factory('Interaction').findByUid('uid-1')).toBeUndefined();
      clock += 601_000;
      expect(await factory('Session').findByUid('uid-1')).toBeUndefined();
      // Device codes are kept 10 minutes past their expiry, so a late poll hears expired_token
      // (the provider judges expiry by the payload's exp), then they go too.
      expect(await factory('DeviceCode').findByUserCode('ABCD-EFGH')).toMatchObject({ jti: 'dc1' });
      clock += 600_000;
      expect(await factory('DeviceCode').findByUserCode('ABCD-EFGH')).toBeUndefined();
    });

    it('consumes once: the payload shows when, a second consume fails with InvalidGrant', async () => {
      const codes = adapters(tenant())('AuthorizationCode');
      await codes.upsert('c1', { jti: 'c1', grantId: 'g' }, 60);
      await codes.consume('c1');
      expect(await codes.find('c1')).toMatchObject({ jti: 'c1', consumed: Math.floor(clock / 1000) });
      const error = await codes.consume('c1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errors.InvalidGrant);
      expect(error).toMatchObject({ error: 'invalid_grant', error_detail: 'authorization code already consumed' });
      await expect(codes.consume('missing')).rejects.toBeInstanceOf(errors.InvalidGrant);
      // Saving a copy read before consumption must not make it usable again.
      await codes.upsert('c1', { jti: 'c1', grantId: 'g' }, 60);
      expect(await codes.find('c1')).toHaveProperty('consumed');
      await expect(codes.consume('c1')).rejects.toBeInstanceOf(errors.InvalidGrant);
    });

    it('of 20 parallel consumes exactly one succeeds, the others fail with InvalidGrant', async () => {
      const tokens = adapters(tenant())('RefreshToken');
      await tokens.upsert('rt1', { jti: 'rt1', grantId: 'g' }, 60);
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => tokens.consume('rt1')));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      expect(failures).toHaveLength(19);
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(errors.InvalidGrant);
        expect(failure).toMatchObject({ error_detail: 'refresh token already consumed' });
      }
    });

    it('records a ReplayDetection entry once while it lives, also under 20 parallel saves', async () => {
      const replays = adapters(tenant())('ReplayDetection');
      await replays.upsert('proof', { jti: 'proof', iss: 'client' }, 60);
      await expect(replays.upsert('proof', { jti: 'proof', iss: 'client' }, 60)).rejects.toBeInstanceOf(errors.InvalidRequest);
      clock += 61_000;
      await replays.upsert('proof', { jti: 'proof', iss: 'client' }, 60);
      expect(await replays.find('proof')).toMatchObject({ iss: 'client' });
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => replays.upsert('parallel', { jti: 'parallel' }, 60)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });

    it('revokeByGrantId removes that grant of that model only', async () => {
      const factory = adapters(tenant());
      const [access, refresh] = [factory('AccessToken'), factory('RefreshToken')];
      await access.upsert('a1', { jti: 'a1', grantId: 'g1' }, 60);
      await access.upsert('a2', { jti: 'a2', grantId: 'g1' }, 60);
      await access.upsert('a3', { jti: 'a3', grantId: 'g2' }, 60);
      await refresh.upsert('r1', { jti: 'r1', grantId: 'g1' }, 60);
      await access.revokeByGrantId('g1');
      expect(await access.find('a1')).toBeUndefined();
      expect(await access.find('a2')).toBeUndefined();
      expect(await access.find('a3')).toBeDefined();
      expect(await refresh.find('r1')).toBeDefined();
      // A re-saved token that left the grant is not revoked with it.
      await refresh.upsert('r1', { jti: 'r1', grantId: 'g3' }, 60);
      await refresh.revokeByGrantId('g1');
      expect(await refresh.find('r1')).toBeDefined();
    });

    it("finds an account's live instances of one model, in id order, page by page", async () => {
      const tenantId = tenant();
      const factory = adapters(tenantId);
      const index = accounts(tenantId);
      for (const id of ['s3', 's1', 's2']) await factory('Session').upsert(id, { jti: id, uid: `u-${id}`, accountId: 'acc' }, 600);
      await factory('Session').upsert('other', { jti: 'other', uid: 'u-other', accountId: 'acc-2' }, 600);
      await factory('Session').upsert('anonymous', { jti: 'anonymous', uid: 'u-anon' }, 600);
      await factory('Grant').upsert('g1', { jti: 'g1', accountId: 'acc', clientId: 'app' });
      await factory('Session').upsert('short', { jti: 'short', uid: 'u-short', accountId: 'acc' }, 10);

      const all = await index.find('Session', 'acc', { limit: 10 });
      expect(all.map((instance) => instance.id)).toEqual(['s1', 's2', 's3', 'short']);
      expect(all[0]?.payload).toMatchObject({ jti: 's1', uid: 'u-s1', accountId: 'acc' });
      expect((await index.find('Session', 'acc', { limit: 2 })).map((instance) => instance.id)).toEqual(['s1', 's2']);
      expect((await index.find('Session', 'acc', { after: 's2', limit: 2 })).map((instance) => instance.id)).toEqual(['s3', 'short']);
      // Scoped to the model: grants of the account are found as grants, and without expiry they stay.
      expect((await index.find('Grant', 'acc', { limit: 10 })).map((instance) => instance.id)).toEqual(['g1']);
      expect(await index.find('Session', 'nobody', { limit: 10 })).toEqual([]);
      expect(await index.find('Session', '', { limit: 10 })).toEqual([]);

      // Expired instances are left out, so a page is never short while live ones remain behind it.
      clock += 11_000;
      expect((await index.find('Session', 'acc', { limit: 3 })).map((instance) => instance.id)).toEqual(['s1', 's2', 's3']);
      // Destroyed and re-saved instances follow their current payload.
      await factory('Session').destroy('s1');
      await factory('Session').upsert('s2', { jti: 's2', uid: 'u-s2' }, 600);
      await factory('Session').upsert('other', { jti: 'other', uid: 'u-other', accountId: 'acc' }, 600);
      expect((await index.find('Session', 'acc', { limit: 10 })).map((instance) => instance.id)).toEqual(['other', 's3']);
      clock += 601_000;
      expect(await index.find('Session', 'acc', { limit: 10 })).toEqual([]);
      expect((await index.find('Grant', 'acc', { limit: 10 })).map((instance) => instance.id)).toEqual(['g1']);
    });

    it("keeps the account index to its tenant: B never finds A's instances, whatever the account id says", async () => {
      const [a, b] = [tenant(), tenant()];
      await adapters(a)('Session').upsert('sess', { jti: 'sess', uid: 'uid', accountId: 'acc' }, 60);
      expect(await accounts(b).find('Session', 'acc', { limit: 10 })).toEqual([]);
      // An account id that spells another tenant's key finds nothing either.
      expect(await accounts(b).find('Session', `x:${a}:Session:acc`, { limit: 10 })).toEqual([]);
      expect(await accounts(a).find('Session', 'acc', { limit: 10 })).toHaveLength(1);
      for (const bad of ['', 'a:b']) expect(() => accounts(bad)).toThrow(TypeError);
      expect(await accounts(b).remove('Session', 'sess')).toBe(false);
      expect(await adapters(a)('Session').find('sess')).toBeDefined();
    });

    it('removes an instance for exactly one of 20 parallel callers', async () => {
      const tenantId = tenant();
      await adapters(tenantId)('Session').upsert('sess', { jti: 'sess', uid: 'uid', accountId: 'acc' }, 60);
      const results = await Promise.all(Array.from({ length: 20 }, () => accounts(tenantId).remove('Session', 'sess')));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await adapters(tenantId)('Session').find('sess')).toBeUndefined();
      expect(await accounts(tenantId).remove('Session', 'never-existed')).toBe(false);
    });

    it('destroy removes one instance', async () => {
      const sessions = adapters(tenant())('Session');
      await sessions.upsert('s1', { jti: 's1', uid: 'u1' }, 60);
      await sessions.upsert('s2', { jti: 's2', uid: 'u2' }, 60);
      await sessions.destroy('s1');
      await sessions.destroy('never-existed');
      expect(await sessions.find('s1')).toBeUndefined();
      expect(await sessions.findByUid('u1')).toBeUndefined();
      expect(await sessions.find('s2')).toBeDefined();
    });

    it("isolates tenants: B can neither read, consume, destroy nor revoke A's instances", async () => {
      const [a, b] = [adapters(tenant()), adapters(tenant())];
      await a('AuthorizationCode').upsert('code', { jti: 'code', grantId: 'g' }, 60);
      await a('Session').upsert('sess', { jti: 'sess', uid: 'uid' }, 60);
      await a('DeviceCode').upsert('dev', { jti: 'dev', userCode: 'UC', grantId: 'g' }, 60);
      expect(await b('AuthorizationCode').find('code')).toBeUndefined();
      expect(await b('Session').findByUid('uid')).toBeUndefined();
      expect(await b('DeviceCode').findByUserCode('UC')).toBeUndefined();
      await expect(b('AuthorizationCode').consume('code')).rejects.toBeInstanceOf(errors.InvalidGrant);
      await b('AuthorizationCode').destroy('code');
      await b('AuthorizationCode').revokeByGrantId('g');
      await b('DeviceCode').revokeByGrantId('g');
      expect(await a('AuthorizationCode').find('code')).not.toHaveProperty('consumed');
      expect(await a('DeviceCode').find('dev')).toBeDefined();
      await a('AuthorizationCode').consume('code');
    });

    it('refuses tenant ids that could alias another tenant', () => {
      for (const bad of ['', 'a:b']) expect(() => adapters(bad)).toThrow(TypeError);
    });

    it('reads clients from findClient and never writes them', async () => {
      const clientsAdapter = adapters(tenant())('Client');
      expect(await clientsAdapter.find('app')).toEqual(clients.app);
      expect(findClient).toHaveBeenCalledWith('app');
      expect(await clientsAdapter.find('other')).toBeUndefined();
      await expect(clientsAdapter.upsert('new', { client_id: 'new' }, 60)).rejects.toThrow(/dynamic registration/);
      await expect(clientsAdapter.destroy('app')).rejects.toThrow();
    });

    if (!options.ephemeral) {
      it('refuses to look up a browser session without the short-lived home, rather than find none', async () => {
        await expect(accounts(tenant()).findBySessionUid('uid')).rejects.toThrow(/Redis/);
      });
    } else {
      describeRoutedOidcContract({
        adapters,
        accounts,
        tenant,
        advance: (ms) => {
          clock += ms;
        },
        now: () => clock,
        ephemeral: () => ephemeral!,
      });
    }
  });
}
