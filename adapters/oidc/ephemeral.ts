/**
 * oidc-provider's adapter for its short-lived models over the short-lived state port (Redis, or the
 * store-backed default): one per tenant and model. Key layout in `ephemeral-keys.ts`.
 *
 * The port has no transactions, so writes are ordered to stay safe when a later one never happens:
 * set memberships (grant, account, session) before the value, so nothing findable escapes a
 * revocation or an account's sign-out; the consumed marker before a value that says it is consumed;
 * lookup pointers after the value (a pointer to a missing value finds nothing). Expiry is checked
 * here against `now` as well as by the backend's TTL, so an injected clock rules on every backend.
 */
import { errors, type AdapterPayload } from 'oidc-provider';
import type { EphemeralStore, EphemeralWrite } from '../ephemeral.js';
import { consumeFailure, type OidcAdapter } from '../oidc-adapter.js';
import { field, liveInstance, MAX_LIFETIME_SECONDS, memberOf, oidcKeys, type OidcKeys, type StoredInstance } from './ephemeral-keys.js';

/** Whole seconds the backend keeps a key whose instance expires at `expiresAt` (at least one). */
function secondsUntil(expiresAt: number, now: number): number {
  return Math.max(1, Math.ceil((expiresAt - now) / 1000));
}

export class EphemeralModelAdapter implements OidcAdapter {
  readonly #keys: OidcKeys;

  constructor(
    private readonly ephemeral: EphemeralStore,
    tenant: string,
    private readonly model: string,
    private readonly now: () => number,
  ) {
    this.#keys = oidcKeys(tenant);
  }

  /** The sets an instance belongs to, by what its payload says. */
  #sets(id: string, payload: Record<string, unknown>): Array<{ key: string; member: string }> {
    const sets: Array<{ key: string; member: string }> = [];
    const grantId = field(payload, 'grantId');
    if (grantId) sets.push({ key: this.#keys.grant(this.model, grantId), member: id });
    const accountId = field(payload, 'accountId');
    if (accountId) sets.push({ key: this.#keys.account(accountId), member: memberOf(this.model, id) });
    const sessionUid = field(payload, this.model === 'Session' ? 'uid' : 'sessionUid');
    if (sessionUid) sets.push({ key: this.#keys.session(sessionUid), member: memberOf(this.model, id) });
    return sets;
  }

  /** The lookup pointers of an instance (`findByUid`, `findByUserCode`). */
  #pointers(payload: Record<string, unknown>): string[] {
    const pointers: string[] = [];
    const uid = field(payload, 'uid');
    if (uid) pointers.push(this.#keys.uid(this.model, uid));
    const userCode = field(payload, 'userCode');
    if (userCode) pointers.push(this.#keys.userCode(this.model, userCode));
    return pointers;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const lifetime = typeof expiresIn === 'number' && Number.isFinite(expiresIn) ? Math.min(expiresIn, MAX_LIFETIME_SECONDS) : MAX_LIFETIME_SECONDS;
    // A lifetime already over (a replay entry for a proof that just expired) is stored dead.
    const stored: StoredInstance = { p: payload, e: this.now() + lifetime * 1000 };
    const ttlSeconds = secondsUntil(stored.e, this.now());
    const value = JSON.stringify(stored);
    const key = this.#keys.value(this.model, id);
    if (this.model === 'ReplayDetection') return this.#recordOnce(key, value, stored, ttlSeconds);
    // In the order of the file's comment, in one round trip where the backend can.
    await this.ephemeral.writeInOrder([
      ...this.#sets(id, payload).map(({ key: set, member }): EphemeralWrite => ({ op: 'addToSet', key: set, members: [member], ttlSeconds })),
      // Never cleared by a re-save: a copy read before consumption must not make the instance usable again.
      ...(payload.consumed ? [{ op: 'set', key: this.#keys.consumed(this.model, id), value: String(payload.consumed), ttlSeconds } as const] : []),
      { op: 'set', key, value, ttlSeconds },
      ...this.#pointers(payload).map((pointer): EphemeralWrite => ({ op: 'set', key: pointer, value: id, ttlSeconds })),
    ]);
  }

  /**
   * oidc-provider's ReplayDetection.unique() is find-then-save, so two parallel requests carrying
   * one DPoP proof or client assertion would both pass: only the writer that finds no live entry
   * may write, the others fail as a replay. An entry expired by our clock but still kept by the
   * backend is replaced by compare-and-set, which again has one winner.
   */
  async #recordOnce(key: string, value: string, stored: StoredInstance, ttlSeconds: number): Promise<void> {
    if (await this.ephemeral.set(key, value, { ttlSeconds, onlyIfAbsent: true })) return;
    const current = await this.ephemeral.get(key);
    if (current !== undefined && liveInstance(current, this.now()) === undefined) {
      if (await this.ephemeral.compareAndSet(key, current, value, secondsUntil(stored.e, this.now()))) return;
    } else if (current === undefined && (await this.ephemeral.set(key, value, { ttlSeconds, onlyIfAbsent: true }))) {
      return;
    }
    throw new errors.InvalidRequest('replay detected');
  }

  /** The live instance and its consumed marker, read in one round trip. */
  async #read(id: string): Promise<{ stored: StoredInstance; consumed: string | undefined } | undefined> {
    const [raw, consumed] = await this.ephemeral.getMany([this.#keys.value(this.model, id), this.#keys.consumed(this.model, id)]);
    const stored = liveInstance(raw, this.now());
    return stored ? { stored, consumed } : undefined;
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (typeof id !== 'string') return undefined;
    const found = await this.#read(id);
    if (!found) return undefined;
    return found.consumed === undefined ? found.stored.p : { ...found.stored.p, consumed: Number(found.consumed) };
  }

  /** Follows a pointer, and trusts it only when the instance still carries the value looked up. */
  async #findBy(pointer: string, name: string, value: string): Promise<AdapterPayload | undefined> {
    const id = await this.ephemeral.get(pointer);
    if (id === undefined) return undefined;
    const payload = await this.find(id);
    return payload && payload[name] === value ? payload : undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (typeof uid !== 'string' || uid === '') return undefined;
    return this.#findBy(this.#keys.uid(this.model, uid), 'uid', uid);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (typeof userCode !== 'string' || userCode === '') return undefined;
    return this.#findBy(this.#keys.userCode(this.model, userCode), 'userCode', userCode);
  }

  /**
   * Marks the instance consumed, once: the marker is written only if absent, so of parallel
   * redemptions exactly one wins and the others fail like a replay (the same errors as the store's).
   */
  async consume(id: string): Promise<void> {
    const found = await this.#read(id);
    if (!found) throw consumeFailure(this.model, false);
    const ttlSeconds = secondsUntil(found.stored.e, this.now());
    const marker = String(Math.floor(this.now() / 1000));
    if (found.consumed === undefined && (await this.ephemeral.set(this.#keys.consumed(this.model, id), marker, { ttlSeconds, onlyIfAbsent: true }))) return;
    throw consumeFailure(this.model, true);
  }

  async destroy(id: string): Promise<void> {
    const raw = await this.ephemeral.get(this.#keys.value(this.model, id));
    await this.ephemeral.delete([this.#keys.value(this.model, id), this.#keys.consumed(this.model, id)]);
    if (raw !== undefined) await removeTraces(this.ephemeral, this.#keys, this.model, id, (JSON.parse(raw) as StoredInstance).p);
  }

  /**
   * Deletes every instance of this model issued from the grant (oidc-provider calls this on each
   * model that can hold one; the durable models do the same in the store). An instance re-saved
   * under another grant since is left alone.
   */
  async revokeByGrantId(grantId: string): Promise<void> {
    if (typeof grantId !== 'string' || grantId === '') return;
    const set = this.#keys.grant(this.model, grantId);
    const ids = await this.ephemeral.members(set);
    if (ids.length === 0) return;
    const raws = await readMany(this.ephemeral, ids.map((id) => this.#keys.value(this.model, id)));
    const revoked = ids.filter((_, i) => {
      const raw = raws[i];
      return raw === undefined || field((JSON.parse(raw) as StoredInstance).p, 'grantId') === grantId;
    });
    await this.ephemeral.delete(revoked.flatMap((id) => [this.#keys.value(this.model, id), this.#keys.consumed(this.model, id)]));
    await this.ephemeral.removeFromSet(set, revoked);
  }
}

/** `getMany` in bounded batches (a grant or an account can hold many instances). */
export async function readMany(ephemeral: EphemeralStore, keys: string[]): Promise<Array<string | undefined>> {
  const values: Array<string | undefined> = [];
  for (let start = 0; start < keys.length; start += 256) values.push(...(await ephemeral.getMany(keys.slice(start, start + 256))));
  return values;
}

/**
 * Removes what points at a deleted instance: its lookup pointers (only while they still point at
 * it: a Session keeps its uid under a new id when its id is reset) and its set memberships. Left
 * behind, they would be harmless (a pointer or member without a value finds nothing), only larger.
 */
export async function removeTraces(ephemeral: EphemeralStore, keys: OidcKeys, model: string, id: string, payload: Record<string, unknown>): Promise<void> {
  const uid = field(payload, 'uid');
  const userCode = field(payload, 'userCode');
  const grantId = field(payload, 'grantId');
  const accountId = field(payload, 'accountId');
  const sessionUid = field(payload, model === 'Session' ? 'uid' : 'sessionUid');
  await Promise.all([
    uid ? ephemeral.compareAndSet(keys.uid(model, uid), id, undefined, 1) : undefined,
    userCode ? ephemeral.compareAndSet(keys.userCode(model, userCode), id, undefined, 1) : undefined,
    grantId ? ephemeral.removeFromSet(keys.grant(model, grantId), [id]) : undefined,
    accountId ? ephemeral.removeFromSet(keys.account(accountId), [memberOf(model, id)]) : undefined,
    sessionUid ? ephemeral.removeFromSet(keys.session(sessionUid), [memberOf(model, id)]) : undefined,
  ]);
}
