/**
 * The cases of the oidc adapter contract that exist once models have two homes
 * (adapters/oidc/routing.ts): short-lived models on the short-lived state port, durable ones in the
 * store. Registered by `describeOidcAdapterContract` when it is given a short-lived home.
 */
import { errors, type Adapter } from 'oidc-provider';
import { expect, it } from 'vitest';
import { tenantPrefix, type EphemeralStore } from '../../adapters/ephemeral.js';
import type { RoutedAccountIndex } from '../../adapters/oidc/routing.js';

export interface RoutedContractContext {
  adapters(tenant: string): (model: string) => Adapter;
  accounts(tenant: string): RoutedAccountIndex;
  tenant(): string;
  advance(ms: number): void;
  now(): number;
  ephemeral(): EphemeralStore;
}

export function describeRoutedOidcContract(c: RoutedContractContext): void {
  it('of 20 parallel consumes of one authorization code exactly one wins; the losers get the usual errors', async () => {
    const factory = c.adapters(c.tenant());
    const codes = factory('AuthorizationCode');
    await codes.upsert('code', { jti: 'code', grantId: 'g', accountId: 'acc' }, 60);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => codes.consume('code')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toMatchObject({ error: 'invalid_grant', error_detail: 'authorization code already consumed' });
    }
    expect(await codes.find('code')).toMatchObject({ consumed: Math.floor(c.now() / 1000) });
    // A pushed authorization request fails as the endpoint expects; an unknown one the same way.
    const requests = factory('PushedAuthorizationRequest');
    await requests.upsert('par', { jti: 'par' }, 60);
    await requests.consume('par');
    await expect(requests.consume('par')).rejects.toBeInstanceOf(errors.InvalidRequestUri);
    await expect(requests.consume('nope')).rejects.toBeInstanceOf(errors.InvalidRequestUri);
    // An expired code cannot be consumed, and says it was not found.
    await codes.upsert('late', { jti: 'late', grantId: 'g' }, 5);
    c.advance(6_000);
    await expect(codes.consume('late')).rejects.toMatchObject({ error_detail: 'authorization code not found' });
  });

  it('of 20 parallel replay entries for one proof exactly one is recorded, the others are replays', async () => {
    const replays = c.adapters(c.tenant())('ReplayDetection');
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => replays.upsert('dpop-jti', { jti: 'dpop-jti', iss: 'client' }, 60)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(errors.InvalidRequest);
  });

  it('revokes a grant in both homes: short-lived codes and tokens and the durable refresh token', async () => {
    const tenant = c.tenant();
    const factory = c.adapters(tenant);
    const models = ['AccessToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest', 'RefreshToken'];
    for (const model of models) {
      await factory(model).upsert(`${model}-1`, { jti: `${model}-1`, grantId: 'g1', accountId: 'acc', userCode: `UC-${model}` }, 600);
      await factory(model).upsert(`${model}-2`, { jti: `${model}-2`, grantId: 'g2', accountId: 'acc' }, 600);
    }
    await factory('AuthorizationCode').consume('AuthorizationCode-1');
    // As oidc-provider's revoke helper does: each model's adapter is asked for its own instances.
    await Promise.all(models.map((model) => factory(model).revokeByGrantId('g1')));
    for (const model of models) {
      expect(await factory(model).find(`${model}-1`), model).toBeUndefined();
      expect(await factory(model).find(`${model}-2`), model).toBeDefined();
    }
    expect(await factory('DeviceCode').findByUserCode('UC-DeviceCode')).toBeUndefined();
    expect((await c.accounts(tenant).find('AccessToken', 'acc', { limit: 10 })).map((i) => i.id)).toEqual(['AccessToken-2']);
    // A token re-saved under another grant is not revoked with its old one.
    await factory('AccessToken').upsert('moved', { jti: 'moved', grantId: 'g3' }, 600);
    await factory('AccessToken').upsert('moved', { jti: 'moved', grantId: 'g4' }, 600);
    await factory('AccessToken').revokeByGrantId('g3');
    expect(await factory('AccessToken').find('moved')).toBeDefined();
    await factory('AccessToken').revokeByGrantId('g4');
    expect(await factory('AccessToken').find('moved')).toBeUndefined();
  });

  it('finds an account’s instances in whichever home they live, and removes them there', async () => {
    const tenant = c.tenant();
    const factory = c.adapters(tenant);
    const index = c.accounts(tenant);
    await factory('Session').upsert('sess', { jti: 'sess', uid: 'su', accountId: 'acc' }, 600);
    await factory('AccessToken').upsert('at', { jti: 'at', grantId: 'g', accountId: 'acc', sessionUid: 'su' }, 600);
    await factory('Grant').upsert('g', { jti: 'g', accountId: 'acc' }, 600);
    await factory('RefreshToken').upsert('rt', { jti: 'rt', grantId: 'g', accountId: 'acc', sessionUid: 'su' }, 600);
    expect((await index.find('Session', 'acc', { limit: 10 })).map((i) => i.id)).toEqual(['sess']);
    expect((await index.find('AccessToken', 'acc', { limit: 10 })).map((i) => i.id)).toEqual(['at']);
    expect((await index.find('Grant', 'acc', { limit: 10 })).map((i) => i.id)).toEqual(['g']);
    expect((await index.find('RefreshToken', 'acc', { limit: 10 })).map((i) => i.id)).toEqual(['rt']);
    expect(await index.remove('Session', 'sess')).toBe(true);
    expect(await index.remove('Grant', 'g')).toBe(true);
    expect(await factory('Session').find('sess')).toBeUndefined();
    expect(await factory('Session').findByUid('su')).toBeUndefined();
    expect(await factory('Grant').find('g')).toBeUndefined();
    expect(await index.find('Session', 'acc', { limit: 10 })).toEqual([]);
    // A removed instance cannot be removed twice, nor one that expired.
    expect(await index.remove('Session', 'sess')).toBe(false);
    await factory('Session').upsert('old', { jti: 'old', uid: 'ou', accountId: 'acc' }, 5);
    c.advance(6_000);
    expect(await index.remove('Session', 'old')).toBe(false);
  });

  it('finds the short-lived instances of one browser session by its uid', async () => {
    const tenant = c.tenant();
    const factory = c.adapters(tenant);
    await factory('Session').upsert('sess', { jti: 'sess', uid: 'su', accountId: 'acc' }, 600);
    await factory('AccessToken').upsert('at', { jti: 'at', grantId: 'g', accountId: 'acc', sessionUid: 'su' }, 600);
    await factory('AuthorizationCode').upsert('code', { jti: 'code', grantId: 'g', accountId: 'acc', sessionUid: 'su' }, 30);
    await factory('AccessToken').upsert('other', { jti: 'other', grantId: 'g', accountId: 'acc', sessionUid: 'another' }, 600);
    const found = async (uid: string) => (await c.accounts(tenant).findBySessionUid(uid)).map((i) => `${i.model}:${i.id}`).sort();
    expect(await found('su')).toEqual(['AccessToken:at', 'AuthorizationCode:code', 'Session:sess']);
    c.advance(31_000);
    expect(await found('su')).toEqual(['AccessToken:at', 'Session:sess']);
    expect(await found('')).toEqual([]);
    expect(await found('nobody')).toEqual([]);
    expect(await c.accounts(c.tenant()).findBySessionUid('su')).toEqual([]);
  });

  it('stores a lifetime already over as dead, and one never given for at most the documented maximum', async () => {
    const factory = c.adapters(c.tenant());
    await factory('AccessToken').upsert('past', { jti: 'past', grantId: 'g' }, -5);
    await factory('AccessToken').upsert('now', { jti: 'now', grantId: 'g' }, 0);
    expect(await factory('AccessToken').find('past')).toBeUndefined();
    expect(await factory('AccessToken').find('now')).toBeUndefined();
    // A replay entry whose proof has just expired blocks nothing.
    await factory('ReplayDetection').upsert('gone', { jti: 'gone' }, 0);
    await factory('ReplayDetection').upsert('gone', { jti: 'gone' }, 60);
    await factory('Interaction').upsert('forever', { jti: 'forever', uid: 'fu' });
    c.advance(29 * 86_400_000);
    expect(await factory('Interaction').findByUid('fu')).toMatchObject({ jti: 'forever' });
    c.advance(2 * 86_400_000);
    expect(await factory('Interaction').find('forever')).toBeUndefined();
  });

  it('keeps a session findable by uid when its id is reset (destroy of the old id, save of the new)', async () => {
    const sessions = c.adapters(c.tenant())('Session');
    await sessions.upsert('first', { jti: 'first', uid: 'u', accountId: 'acc' }, 600);
    await sessions.upsert('second', { jti: 'second', uid: 'u', accountId: 'acc' }, 600);
    await sessions.destroy('first');
    expect(await sessions.findByUid('u')).toMatchObject({ jti: 'second' });
  });

  it('keeps hostile ids, uids and account ids apart: separators and hash-tag braces alias nothing', async () => {
    const tenant = c.tenant();
    const factory = c.adapters(tenant);
    await factory('Session').upsert('a:b', { jti: 'a:b', uid: 'x}:oidc:Session:a', accountId: 'acc:Session:a' }, 600);
    expect(await factory('Session').find('a')).toBeUndefined();
    expect(await factory('Session').find('a:b')).toMatchObject({ uid: 'x}:oidc:Session:a' });
    expect(await factory('Session').findByUid('x}:oidc:Session:a')).toMatchObject({ jti: 'a:b' });
    expect(await factory('Session').findByUid('x')).toBeUndefined();
    expect(await c.accounts(tenant).find('Session', 'acc', { limit: 10 })).toEqual([]);
    expect((await c.accounts(tenant).find('Session', 'acc:Session:a', { limit: 10 })).map((i) => i.id)).toEqual(['a:b']);
    const huge = 'x'.repeat(10_000);
    expect(await factory('AccessToken').find(huge)).toBeUndefined();
    await expect(factory('AuthorizationCode').consume(huge)).rejects.toBeInstanceOf(errors.InvalidGrant);
    for (const bad of ['{t}', 'a}b']) expect(() => c.adapters(bad)).toThrow(TypeError);
  });

  it('writes nothing findable for an instance whose value never got written (a crash after the set memberships)', async () => {
    const tenant = c.tenant();
    const factory = c.adapters(tenant);
    // What a crash between the membership writes and the value write leaves behind.
    await factory('AccessToken').upsert('at', { jti: 'at', grantId: 'g', accountId: 'acc', sessionUid: 'su' }, 600);
    await c.ephemeral().delete([`{${tenant}}:oidc:AccessToken:at`]);
    expect(await factory('AccessToken').find('at')).toBeUndefined();
    expect(await c.accounts(tenant).find('AccessToken', 'acc', { limit: 10 })).toEqual([]);
    expect(await c.accounts(tenant).findBySessionUid('su')).toEqual([]);
    await factory('AccessToken').revokeByGrantId('g');
  });

  it('deletes every short-lived instance of a tenant by its prefix, and only that tenant’s', async () => {
    const [a, b] = [c.tenant(), c.tenant()];
    for (const tenant of [a, b]) {
      await c.adapters(tenant)('Session').upsert('sess', { jti: 'sess', uid: 'u', accountId: 'acc' }, 600);
      await c.adapters(tenant)('AuthorizationCode').upsert('code', { jti: 'code', grantId: 'g' }, 60);
      await c.adapters(tenant)('AuthorizationCode').consume('code');
    }
    expect(await c.ephemeral().deletePrefix(tenantPrefix(a))).toBeGreaterThanOrEqual(4);
    expect(await c.adapters(a)('Session').findByUid('u')).toBeUndefined();
    expect(await c.adapters(a)('AuthorizationCode').find('code')).toBeUndefined();
    expect(await c.accounts(a).find('Session', 'acc', { limit: 10 })).toEqual([]);
    expect(await c.adapters(b)('Session').findByUid('u')).toBeDefined();
    expect(await c.adapters(b)('AuthorizationCode').find('code')).toHaveProperty('consumed');
  });
}
