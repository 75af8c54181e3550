import type Provider from 'oidc-provider';
import type { Client } from 'oidc-provider';
import type { OidcAccountIndex } from '../../adapters/oidc-adapter.js';
import { CONSENT_MODEL } from './consents.js';

/**
 * Why an account's sessions end: an admin disabling or deleting the user, or signing them out
 * everywhere (admin API), or a SAML app's LogoutRequest (`saml_logout`, one session:
 * {@link endOneSession}), the user changing their password in the account console
 * (`password_changed`, every session but the one they changed it in), or a password reset
 * (`password_reset`: whoever held the old password loses every session and refresh token; what the
 * user consented to stays).
 */
export type EndSessionsReason = 'user_disabled' | 'user_deleted' | 'signed_out_everywhere' | 'saml_logout' | 'password_changed' | 'password_reset';

/**
 * Whether the reason also withdraws what the user allowed clients (`consents.ts`). An account an
 * admin disabled or deleted is asked again if it ever comes back; a reason added later (such as
 * "sign out everywhere") decides here whether consent outlives it.
 */
const forgetsConsent: Record<EndSessionsReason, boolean> = { user_disabled: true, user_deleted: true, signed_out_everywhere: false, saml_logout: false, password_changed: false, password_reset: false };

export interface EndSessionsOptions {
  reason: EndSessionsReason;
  /**
   * A session id (the provider's) to leave alone with the grants it holds: the browser the user
   * is using ({@link endSessionsOf}). Every other grant is revoked, offline ones too.
   */
  keep?: string | undefined;
}

/** What the service needs of a tenant; a `TenantContext` has both. */
export interface TenantSessions {
  provider: Provider;
  byAccount: OidcAccountIndex;
}

export interface BackchannelLogoutResult {
  clientId: string;
  delivered: boolean;
  /** why delivery failed (status or network error); never a token */
  error?: string;
}

export interface EndedSessions {
  reason: EndSessionsReason;
  /** browser sessions ended */
  sessions: number;
  /** grants revoked, each with its access and refresh tokens and codes */
  grants: number;
  /** clients whose remembered consent was forgotten (`consents.ts`): they will ask again */
  consents: number;
  /** one per client of an ended session that has a back-channel logout URI */
  backchannelLogouts: BackchannelLogoutResult[];
}

const PAGE_SIZE = 100;

/** `Client#backchannelLogout` exists at runtime (oidc-provider's end_session uses it) but is not typed. */
type LogoutCapable = Client & { backchannelLogout(sub: string, sid: string | undefined): Promise<void> };

function canLogOut(client: Client): client is LogoutCapable {
  return 'backchannelLogout' in client && typeof client.backchannelLogout === 'function';
}

/** Live instances of `model` of the account, a page at a time (ending them does not disturb the paging). */
export async function* pagesOf(index: OidcAccountIndex, model: string, accountId: string) {
  let after: string | undefined;
  for (;;) {
    const page = await index.find(model, accountId, { ...(after !== undefined ? { after } : {}), limit: PAGE_SIZE });
    if (page.length > 0) yield page;
    if (page.length < PAGE_SIZE) return;
    after = page[page.length - 1]!.id;
  }
}

/**
 * OIDC Back-Channel Logout 1.0 section 2.5: a logout token for one client of an ended session,
 * signed by the provider (with `sid` when the client asked for it), delivered with the provider's own
 * fetch (SSRF protection, 2.5 s timeout). A failure is reported, never thrown: the session is over
 * whether or not the relying party heard of it.
 */
export async function backchannelLogout(provider: Provider, clientId: string, accountId: string, sid: string | undefined): Promise<BackchannelLogoutResult | undefined> {
  let client: Client | undefined;
  try {
    client = await provider.Client.find(clientId);
  } catch {
    return { clientId, delivered: false, error: 'the client’s metadata is invalid' };
  }
  if (!client?.backchannelLogoutUri || !canLogOut(client)) return undefined;
  try {
    await client.backchannelLogout(accountId, sid);
    return { clientId, delivered: true };
  } catch (error) {
    return { clientId, delivered: false, error: error instanceof Error ? error.message : 'delivery failed' };
  }
}

/**
 * Ends one session, if this caller is the one that removes it (parallel callers act once), and
 * notifies its relying parties. Returns the grants it held, or `undefined` when there was nothing to end.
 */
export async function endSession(tenant: TenantSessions, id: string, accountId: string) {
  const session = await tenant.provider.Session.find(id);
  if (!session || session.accountId !== accountId) return undefined;
  if (!(await tenant.byAccount.remove('Session', id))) return undefined;
  const authorizations = Object.entries(session.authorizations ?? {});
  const logouts = await Promise.all(authorizations.map(([clientId, { sid }]) => backchannelLogout(tenant.provider, clientId, accountId, sid)));
  return {
    logouts: logouts.filter((result) => result !== undefined),
    grantIds: authorizations.flatMap(([, { grantId }]) => (grantId ? [grantId] : [])),
    // offline_access grants outlive a logout, as in the provider's own end_session
    sessionGrantIds: authorizations.flatMap(([, { grantId, persistsLogout }]) => (grantId && !persistsLogout ? [grantId] : [])),
  };
}

/**
 * The id of the account's live session in which `clientId` was given `sid` (the provider keeps a
 * `sid` per client in its session's `authorizations`), or undefined.
 */
export async function sessionIdOfSid(tenant: Pick<TenantSessions, 'byAccount'>, accountId: string, clientId: string, sid: string): Promise<string | undefined> {
  for await (const page of pagesOf(tenant.byAccount, 'Session', accountId)) {
    for (const { id, payload } of page) {
      const authorizations = payload['authorizations'] as Record<string, { sid?: unknown } | undefined> | undefined;
      if (authorizations?.[clientId]?.sid === sid) return id;
    }
  }
  return undefined;
}

/**
 * Ends one browser session of an account, as the provider's own logout does (SAML single logout
 * calls this for the session a LogoutRequest names): the session is removed, its relying parties
 * with a back-channel logout URI are sent a logout token, and the grants it holds are revoked with
 * their tokens, but for `offline_access` ones (which outlive a logout) and remembered consent.
 * Safe in parallel: the one caller that removes the session does the rest.
 */
export async function endOneSession(tenant: TenantSessions, sessionId: string, accountId: string, options: EndSessionsOptions): Promise<EndedSessions> {
  const result: EndedSessions = { reason: options.reason, sessions: 0, grants: 0, consents: 0, backchannelLogouts: [] };
  const ended = await endSession(tenant, sessionId, accountId);
  if (!ended) return result;
  result.sessions = 1;
  result.backchannelLogouts = ended.logouts;
  for (const revoked of await Promise.all(ended.sessionGrantIds.map((grantId) => revokeGrant(tenant, grantId)))) if (revoked) result.grants += 1;
  return result;
}

/** Removes a grant and every token and code issued from it; true if this caller removed the grant. */
export async function revokeGrant(tenant: TenantSessions, grantId: string): Promise<boolean> {
  const { provider } = tenant;
  // The grant first: a token whose grant is gone no longer refreshes or introspects as active.
  const removed = await tenant.byAccount.remove('Grant', grantId);
  const models = [provider.AccessToken, provider.RefreshToken, provider.AuthorizationCode, provider.DeviceCode, provider.BackchannelAuthenticationRequest];
  await Promise.all(models.map((model) => model.revokeByGrantId(grantId)));
  return removed;
}

/** The grants a live session of the account holds (none when it is gone or another account's). */
async function grantsOfSession(tenant: TenantSessions, sessionId: string, accountId: string): Promise<Set<string>> {
  const session = await tenant.provider.Session.find(sessionId);
  if (!session || session.accountId !== accountId) return new Set();
  return new Set(Object.values(session.authorizations ?? {}).flatMap(({ grantId }) => (grantId ? [grantId] : [])));
}

/**
 * Ends every session of an account in one tenant (but `options.keep`): each is removed from the store (its browser
 * then has no session), the relying parties it signed in to that have a back-channel logout URI are
 * sent a logout token, grants are revoked with their tokens, and remembered consent is forgotten
 * (for the reasons that say so). Safe to repeat and to run in parallel: each session and grant is
 * ended by exactly one caller.
 *
 * Callers first make the account unusable (disable or delete it), so no new session or token can
 * be issued for it while this runs; one saved by a request already in flight still cannot be used,
 * because a session or token whose account is gone counts as none (`interaction-policy.ts`,
 * `introspection.ts`, `findAccount`).
 */
export async function endSessionsOf(tenant: TenantSessions, accountId: string, options: EndSessionsOptions): Promise<EndedSessions> {
  const result: EndedSessions = { reason: options.reason, sessions: 0, grants: 0, consents: 0, backchannelLogouts: [] };
  const grantIds = new Set<string>();
  const kept = options.keep === undefined ? new Set<string>() : await grantsOfSession(tenant, options.keep, accountId);
  for await (const page of pagesOf(tenant.byAccount, 'Session', accountId)) {
    const others = page.filter(({ id }) => id !== options.keep);
    for (const ended of await Promise.all(others.map(({ id }) => endSession(tenant, id, accountId)))) {
      if (!ended) continue;
      result.sessions += 1;
      result.backchannelLogouts.push(...ended.logouts);
      for (const grantId of ended.grantIds) grantIds.add(grantId);
    }
  }
  // Every grant of the account, also those of no live session (offline access outlives sessions).
  for await (const page of pagesOf(tenant.byAccount, 'Grant', accountId)) for (const { id } of page) grantIds.add(id);
  for (const grantId of kept) grantIds.delete(grantId);
  for (const revoked of await Promise.all([...grantIds].map((grantId) => revokeGrant(tenant, grantId)))) if (revoked) result.grants += 1;
  if (!forgetsConsent[options.reason]) return result;
  for await (const page of pagesOf(tenant.byAccount, CONSENT_MODEL, accountId)) {
    for (const removed of await Promise.all(page.map(({ id }) => tenant.byAccount.remove(CONSENT_MODEL, id)))) if (removed) result.consents += 1;
  }
  return result;
}
