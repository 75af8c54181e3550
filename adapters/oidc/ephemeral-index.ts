/**
 * Finds short-lived instances by account and by browser session, through the sets the adapter
 * (`ephemeral.ts`) keeps: what oidc-provider's adapter interface cannot ask, and what ending an
 * account's sessions, the account console's session list and single logout need.
 */
import type { EphemeralStore } from '../ephemeral.js';
import type { OidcInstance } from '../oidc-adapter.js';
import { removeTraces, readMany } from './ephemeral.js';
import { field, liveInstance, oidcKeys, parseMember, type StoredInstance } from './ephemeral-keys.js';

/** One instance of a browser session: the Session itself or a code or token it issued. */
export interface SessionInstance extends OidcInstance {
  model: string;
}

export interface EphemeralAccountIndex {
  find(model: string, accountId: string, page: { after?: string; limit: number }): Promise<OidcInstance[]>;
  remove(model: string, id: string): Promise<boolean>;
  findBySessionUid(sessionUid: string): Promise<SessionInstance[]>;
}

export function ephemeralAccountIndex(ephemeral: EphemeralStore, tenant: string, now: () => number): EphemeralAccountIndex {
  const keys = oidcKeys(tenant);
  return {
    /**
     * Members of the account's set are candidates only: an instance counts while it lives and still
     * names the account (a re-saved one may not). Stale members are left to expire with the set;
     * removing them here could race with a save of the same id and unindex a live instance.
     */
    async find(model, accountId, { after, limit }) {
      if (typeof accountId !== 'string' || accountId === '') return [];
      const ids = (await ephemeral.members(keys.account(accountId)))
        .map(parseMember)
        .flatMap((member) => (member && member.model === model && (after === undefined || member.id > after) ? [member.id] : []))
        .sort();
      const found: OidcInstance[] = [];
      for (let start = 0; start < ids.length && found.length < limit; start += limit) {
        const batch = ids.slice(start, start + limit);
        const raws = await ephemeral.getMany(batch.map((id) => keys.value(model, id)));
        batch.forEach((id, i) => {
          const stored = liveInstance(raws[i], now());
          if (stored && stored.p.accountId === accountId && found.length < limit) found.push({ id, payload: stored.p });
        });
      }
      return found;
    },

    /** `take` has one winner, so of parallel callers exactly one answers true. */
    async remove(model, id) {
      const raw = await ephemeral.take(keys.value(model, id));
      if (raw === undefined) return false;
      await ephemeral.delete([keys.consumed(model, id)]);
      await removeTraces(ephemeral, keys, model, id, (JSON.parse(raw) as StoredInstance).p);
      return liveInstance(raw, now()) !== undefined;
    },

    /** The live Session with this `uid` and every live short-lived code or token it issued (`sessionUid`). */
    async findBySessionUid(sessionUid) {
      if (typeof sessionUid !== 'string' || sessionUid === '') return [];
      const members = (await ephemeral.members(keys.session(sessionUid))).flatMap((member) => parseMember(member) ?? []);
      const raws = await readMany(ephemeral, members.map(({ model, id }) => keys.value(model, id)));
      return members.flatMap(({ model, id }, i) => {
        const stored = liveInstance(raws[i], now());
        if (!stored || field(stored.p, model === 'Session' ? 'uid' : 'sessionUid') !== sessionUid) return [];
        return [{ model, id, payload: stored.p }];
      });
    },
  };
}
