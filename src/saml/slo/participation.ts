import { createHash } from 'node:crypto';
import { tenantKey, type EphemeralStore } from '../../../adapters/ephemeral.js';
import type { IssuedNameId } from '../name-id.js';

/** At most this many apps are remembered per session: a session that signs in to more is not tracked further. */
export const MAX_PARTICIPATIONS = 32;

/** One app a Gatehouse session sent an assertion to, as single logout needs it (SAML Profiles 4.4). */
export interface Participation {
  appId: string;
  nameId: IssuedNameId;
  sessionIndex: string;
  /** epoch ms of the assertion */
  atMs: number;
}

/** The Gatehouse session behind a SessionIndex: its account and the SAML bridge's `sid` in it. */
export interface ParticipatingSession {
  accountId: string;
  sid: string;
}

/**
 * The SessionIndex of the session whose SAML bridge `sid` this is: the same hash the SSO callback
 * puts in the AuthnStatement (`sso.ts`), so a SessionIndex names one session without revealing it.
 */
export function sessionIndexOf(tenant: string, sid: string): string {
  return `_${createHash('sha256').update(`${tenant}\0${sid}`).digest('hex').slice(0, 40)}`;
}

const membersKey = (tenant: string, sessionIndex: string) => tenantKey(tenant, 'saml-slo-apps', sessionIndex);
const sessionKey = (tenant: string, sessionIndex: string) => tenantKey(tenant, 'saml-slo-session', sessionIndex);

/**
 * Which app got which NameID and SessionIndex in each Gatehouse session, in the short-lived store
 * by the session's SessionIndex (a hash of its `sid`), for as long as the session lives. One entry
 * per app (a new assertion replaces the app's older one), at most {@link MAX_PARTICIPATIONS}.
 */
export class Participations {
  constructor(private readonly ephemeral: EphemeralStore) {}

  /** Remembers that `participation` was sent in the session; answers false when the session is at its bound. */
  async record(tenant: string, session: ParticipatingSession, participation: Participation, ttlSeconds: number): Promise<boolean> {
    const ttl = Math.max(60, Math.ceil(ttlSeconds));
    const key = membersKey(tenant, participation.sessionIndex);
    const current = await this.ephemeral.members(key);
    const older = current.filter((member) => (JSON.parse(member) as Participation).appId === participation.appId);
    if (current.length - older.length >= MAX_PARTICIPATIONS) return false;
    await this.ephemeral.writeInOrder([
      { op: 'set', key: sessionKey(tenant, participation.sessionIndex), value: JSON.stringify(session), ttlSeconds: ttl },
      ...(older.length ? [{ op: 'removeFromSet' as const, key, members: older }] : []),
      { op: 'addToSet', key, members: [JSON.stringify(participation)], ttlSeconds: ttl },
    ]);
    return true;
  }

  /** The session behind a SessionIndex and the apps it signed in to (none when unknown or expired). */
  async of(tenant: string, sessionIndex: string): Promise<{ session: ParticipatingSession; apps: Participation[] } | undefined> {
    if (!/^_[0-9a-f]{40}$/.test(sessionIndex)) return undefined;
    const [raw, members] = await Promise.all([this.ephemeral.get(sessionKey(tenant, sessionIndex)), this.ephemeral.members(membersKey(tenant, sessionIndex))]);
    if (raw === undefined) return undefined;
    const apps = members.map((member) => JSON.parse(member) as Participation).sort((a, b) => a.atMs - b.atMs);
    return { session: JSON.parse(raw) as ParticipatingSession, apps };
  }

  /** Forgets a session's participations (its logout has begun: each app is logged out at most once). */
  async forget(tenant: string, sessionIndex: string): Promise<void> {
    await this.ephemeral.delete([sessionKey(tenant, sessionIndex), membersKey(tenant, sessionIndex)]);
  }
}
