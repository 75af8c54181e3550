/**
 * Where the short-lived oidc-provider models live on the short-lived state port (the table is in
 * docs/architecture.md). Every key starts with the tenant's hash tag (`tenantKey`), so one tenant's
 * keys share a Redis Cluster slot (`getMany` across them is allowed) and tenant deletion finds them
 * by prefix. Values from outside (ids, uids, user codes, account ids) are URI-encoded, so none can
 * contain the `:` that separates parts and alias another key.
 */
import { tenantKey } from '../ephemeral.js';

/** Lifetime of an instance saved without `expiresIn` (oidc-provider gives every short-lived model one). */
export const MAX_LIFETIME_SECONDS = 30 * 86_400;

const part = encodeURIComponent;

/** How one instance is stored: its payload and when it expires (epoch ms, checked on every read). */
export interface StoredInstance {
  p: Record<string, unknown>;
  e: number;
}

export function oidcKeys(tenant: string) {
  return {
    /** the payload (JSON of {@link StoredInstance}) */
    value: (model: string, id: string) => tenantKey(tenant, 'oidc', model, part(id)),
    /** present once the instance is consumed: its value is the epoch second of consumption */
    consumed: (model: string, id: string) => tenantKey(tenant, 'oidc-consumed', model, part(id)),
    /** pointer to the id of the instance with this `uid` (Session, Interaction) */
    uid: (model: string, uid: string) => tenantKey(tenant, 'oidc-uid', model, part(uid)),
    /** pointer to the id of the device code with this user code */
    userCode: (model: string, userCode: string) => tenantKey(tenant, 'oidc-usercode', model, part(userCode)),
    /** set of the ids of one model issued from one grant (`revokeByGrantId`) */
    grant: (model: string, grantId: string) => tenantKey(tenant, 'oidc-grant', model, part(grantId)),
    /** set of `{model}:{id}` of every instance of an account (sessions, codes, tokens) */
    account: (accountId: string) => tenantKey(tenant, 'oidc-acct', part(accountId)),
    /** set of `{model}:{id}` of a browser session: the Session itself (`uid`) and what it issued (`sessionUid`) */
    session: (sessionUid: string) => tenantKey(tenant, 'oidc-session', part(sessionUid)),
  };
}

export type OidcKeys = ReturnType<typeof oidcKeys>;

/** A member of an account or session set. */
export function memberOf(model: string, id: string): string {
  return `${model}:${part(id)}`;
}

/** The model and id of a set member, or undefined when it is not one. */
export function parseMember(member: string): { model: string; id: string } | undefined {
  const colon = member.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return { model: member.slice(0, colon), id: decodeURIComponent(member.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

/** A stored instance that has not expired by `now`, or undefined. */
export function liveInstance(raw: string | undefined, now: number): StoredInstance | undefined {
  if (raw === undefined) return undefined;
  const stored = JSON.parse(raw) as StoredInstance;
  return stored.e > now ? stored : undefined;
}

/** A non-empty string field of a payload. */
export function field(payload: Record<string, unknown>, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
