import { createHash } from 'node:crypto';
import { SESSION_TTL_SECONDS } from './ttl.js';
import { backchannelLogout, endSession, pagesOf, revokeGrant, type BackchannelLogoutResult, type TenantSessions } from './end-sessions.js';

/**
 * One browser session of an account, as operators and the account's owner may see it. Its `id` is
 * a hash of the provider's session id, never the id itself: that is the session cookie's value, and
 * whoever reads it could sign in as the user.
 */
export interface SessionView {
  id: string;
  /** when the session began (epoch seconds) */
  createdAt?: number;
  /** when the user last signed in on it (epoch seconds): a step-up or a fresh sign-in moves it */
  authTime?: number;
  /** when it ends unless used (epoch seconds) */
  expiresAt?: number;
  /**
   * when the browser last came through the provider with it (epoch seconds): a sign-in, an app's
   * authorization request (also `prompt=none`), a logout page. The provider saves the session at
   * each of these with a fresh expiry, so this is read from that expiry at no extra write; token
   * refreshes and account console pages do not move it.
   */
  lastSeenAt?: number;
  /** the provider's session `uid` (stable across sign-ins, where the id changes): for joining what was recorded of it, never shown */
  uid?: string;
  amr?: string[];
  acr?: string;
  /** the clients the session signed in to */
  clients: string[];
}

/** One grant of an account: what a client was allowed, with the tokens issued from it. */
export interface GrantView {
  id: string;
  clientId: string;
  scopes: string[];
  /** resource indicators with their scopes */
  resources: Record<string, string[]>;
  createdAt?: number;
  expiresAt?: number;
}

/** The public handle of a session id (see {@link SessionView}). */
export function sessionHandle(sessionId: string): string {
  return createHash('sha256').update(`gatehouse session\0${sessionId}`).digest('base64url').slice(0, 32);
}

const numberOr = (value: unknown) => (typeof value === 'number' ? value : undefined);
const words = (value: unknown) => (typeof value === 'string' ? value.split(' ').filter(Boolean) : []);

/** The account's live sessions, oldest first (at most `limit`). */
export async function sessionsOf(tenant: TenantSessions, accountId: string, limit = 200): Promise<SessionView[]> {
  const views: SessionView[] = [];
  pages: for await (const page of pagesOf(tenant.byAccount, 'Session', accountId)) {
    for (const { id, payload } of page) {
      const session = payload as Record<string, unknown>;
      const amr = Array.isArray(session['amr']) ? session['amr'].filter((value): value is string => typeof value === 'string') : undefined;
      const createdAt = numberOr(session['iat']);
      const authTime = numberOr(session['loginTs']);
      const expiresAt = numberOr(session['exp']);
      views.push({
        id: sessionHandle(id),
        ...(createdAt !== undefined ? { createdAt } : {}),
        ...(authTime !== undefined ? { authTime } : {}),
        ...(expiresAt !== undefined ? { expiresAt, lastSeenAt: expiresAt - SESSION_TTL_SECONDS } : {}),
        ...(typeof session['uid'] === 'string' ? { uid: session['uid'] } : {}),
        ...(amr ? { amr } : {}),
        ...(typeof session['acr'] === 'string' ? { acr: session['acr'] } : {}),
        clients: Object.keys((session['authorizations'] as Record<string, unknown> | undefined) ?? {}),
      });
      if (views.length >= limit) break pages;
    }
  }
  return views.sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
}

/** The account's live grants (at most `limit`). */
export async function grantsOf(tenant: TenantSessions, accountId: string, limit = 200): Promise<GrantView[]> {
  const views: GrantView[] = [];
  for await (const page of pagesOf(tenant.byAccount, 'Grant', accountId)) {
    for (const { id, payload } of page) {
      const grant = payload as Record<string, unknown>;
      const openid = (grant['openid'] as { scope?: unknown } | undefined)?.scope;
      const resources = Object.fromEntries(Object.entries((grant['resources'] as Record<string, unknown> | undefined) ?? {}).map(([resource, scope]) => [resource, words(scope)]));
      const createdAt = numberOr(grant['iat']);
      const expiresAt = numberOr(grant['exp']);
      views.push({
        id,
        clientId: String(grant['clientId'] ?? ''),
        scopes: words(openid),
        resources,
        ...(createdAt !== undefined ? { createdAt } : {}),
        ...(expiresAt !== undefined ? { expiresAt } : {}),
      });
      if (views.length >= limit) return views;
    }
  }
  return views;
}

/** What ending or revoking did; `nothing` when there was nothing of the account's to end. */
export interface EndedOne {
  /** false when there was no such live session (or grant) of the account, or a parallel caller ended it */
  ended: boolean;
  grants: number;
  backchannelLogouts: BackchannelLogoutResult[];
}

const nothing = (): EndedOne => ({ ended: false, grants: 0, backchannelLogouts: [] });

/**
 * Ends the account's session with handle `handle`: removed from the store (its browser is signed
 * out), back-channel logout to the clients it signed in to that registered one, and the grants it
 * held revoked with their tokens. Another account's session, or one already gone, ends nothing.
 */
export async function endSessionByHandle(tenant: TenantSessions, accountId: string, handle: string): Promise<EndedOne> {
  for await (const page of pagesOf(tenant.byAccount, 'Session', accountId)) {
    const match = page.find(({ id }) => sessionHandle(id) === handle);
    if (!match) continue;
    const ended = await endSession(tenant, match.id, accountId);
    if (!ended) return nothing();
    const revoked = await Promise.all(ended.grantIds.map((grantId) => revokeGrant(tenant, grantId)));
    return { ended: true, grants: revoked.filter(Boolean).length, backchannelLogouts: ended.logouts };
  }
  return nothing();
}

/**
 * Revokes one grant of the account with every token and code issued from it, and sends
 * back-channel logout for the client's sessions of the account that hold it (the client's users are
 * signed out of it, where it registered a logout URI). Another account's grant revokes nothing.
 */
export async function revokeAccountGrant(tenant: TenantSessions, accountId: string, grantId: string): Promise<EndedOne> {
  const grant = await tenant.provider.Grant.find(grantId);
  if (!grant || grant.accountId !== accountId) return nothing();
  const clientId = grant.clientId;
  const sids: Array<string | undefined> = [];
  for await (const page of pagesOf(tenant.byAccount, 'Session', accountId)) {
    for (const { payload } of page) {
      const authorization = ((payload as Record<string, unknown>)['authorizations'] as Record<string, { grantId?: string; sid?: string }> | undefined)?.[clientId ?? ''];
      if (authorization?.grantId === grantId) sids.push(authorization.sid);
    }
  }
  if (!(await revokeGrant(tenant, grantId))) return nothing();
  const logouts = clientId ? await Promise.all(sids.map((sid) => backchannelLogout(tenant.provider, clientId, accountId, sid))) : [];
  return { ended: true, grants: 1, backchannelLogouts: logouts.filter((result) => result !== undefined) };
}

/**
 * Ends every session of the account but the one with id `keepId` (the account console's "sign out
 * everywhere else"), each as {@link endSessionByHandle} ends one: back-channel logout to its
 * clients and the grants it held revoked. Grants of no live session (offline access) stay: the
 * user revokes those per app.
 */
export async function endOtherSessions(tenant: TenantSessions, accountId: string, keepId: string): Promise<EndedOne & { sessions: number }> {
  const result = { ...nothing(), sessions: 0 };
  for await (const page of pagesOf(tenant.byAccount, 'Session', accountId)) {
    const ended = await Promise.all(page.filter(({ id }) => id !== keepId).map(({ id }) => endSession(tenant, id, accountId)));
    for (const one of ended) {
      if (!one) continue;
      result.sessions += 1;
      result.backchannelLogouts.push(...one.logouts);
      for (const revoked of await Promise.all(one.grantIds.map((grantId) => revokeGrant(tenant, grantId)))) if (revoked) result.grants += 1;
    }
  }
  result.ended = result.sessions > 0;
  return result;
}
